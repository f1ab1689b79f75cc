-- One wrk script for every path. Environment:
--   METHOD, URL_PATH (may hold {item}), BODY (may hold {item}), COOKIE, CSRF
--   ITEMS: a file with one item per line (order numbers, user ids,
--          "body<TAB>timestamp<TAB>signature" for signed callbacks (SIGNED), or
--          "user id<TAB>Cookie<TAB>CSRF token" for a request per user (SESSION_ITEMS))
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
  signed = os.getenv("SIGNED")
  session_items = os.getenv("SESSION_ITEMS")
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
  if signed then
    local payload, timestamp, signature = fields(item)
    request_body = payload
    headers["X-Pay-Timestamp"] = timestamp
    headers["X-Pay-Signature"] = signature
  else
    if session_items then
      local user, cookie, csrf = fields(item)
      item = user
      headers["Cookie"] = cookie
      headers["X-XSRF-TOKEN"] = csrf
    end
    if request_body then request_body = request_body:gsub("{item}", item) end
  end
  return wrk.format(method, (path:gsub("{item}", item)), headers, request_body)
end
