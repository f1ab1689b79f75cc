-- One wrk script for every path. Environment:
--   METHOD, URL_PATH (may hold {item}), BODY (may hold {item}), COOKIE, CSRF
--   ITEMS: a file with one item per line (order numbers, user ids,
--          "user id<TAB>Cookie<TAB>CSRF token" for a request per user (SESSION_ITEMS), or
--          "body<TAB>Header: value<TAB>Header: value..." for a provider's notification (RAW))
-- Each thread walks its own slice of ITEMS, so no two requests share an item until the
-- list wraps around.
local threads, counter = {}, 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  method = os.getenv("METHOD") or "GET"
  path = os.getenv("URL_PATH")
  body = os.getenv("BODY")
  headers = { ["Accept"] = "application/json" }
  if os.getenv("COOKIE") then headers["Cookie"] = os.getenv("COOKIE") end
  if os.getenv("CSRF") then headers["X-XSRF-TOKEN"] = os.getenv("CSRF") end
  if body then headers["Content-Type"] = "application/json" end
  items = {}
  local file = os.getenv("ITEMS")
  if file then
    for line in io.lines(file) do table.insert(items, line) end
  end
  nthreads = tonumber(os.getenv("THREADS") or "1")
  session_items = os.getenv("SESSION_ITEMS")
  raw = os.getenv("RAW")
  index = id
end

-- An item's three tab-separated fields.
local function fields(item)
  return item:match("([^\t]*)\t([^\t]*)\t([^\t]*)")
end

function request()
  local item = ""
  if #items > 0 then
    item = items[(index % #items) + 1]
    index = index + nthreads
  end
  local request_body = body
  if raw then
    local parts = {}
    for part in (item .. "\t"):gmatch("([^\t]*)\t") do table.insert(parts, part) end
    request_body = parts[1]
    local own = { ["Accept"] = "*/*" }
    for i = 2, #parts do
      local name, value = parts[i]:match("^([^:]+): (.*)$")
      if name then own[name] = value end
    end
    return wrk.format(method, path, own, request_body)
  end
  if session_items then
    local user, cookie, csrf = fields(item)
    item = user
    headers["Cookie"] = cookie
    headers["X-XSRF-TOKEN"] = csrf
  end
  if request_body then request_body = request_body:gsub("{item}", item) end
  return wrk.format(method, (path:gsub("{item}", item)), headers, request_body)
end
