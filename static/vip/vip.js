// The VIP purchase page: create the order through the API, show its QR code and deadline,
// poll its status every 2 seconds until it is no longer pending.
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("page-config").textContent);
  const text = JSON.parse(document.getElementById("page-text").textContent);
  const $ = (id) => document.getElementById(id);
  const PENDING = 0, PAID = 1, CANCELLED = 2, EXPIRED = 3;
  let order = null, pollTimer = null, tickTimer = null;

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)XSRF-TOKEN=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function request(url, options = {}) {
    const response = await fetch(url, {
      credentials: "same-origin",
      ...options,
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-XSRF-TOKEN": csrfToken(),
        ...(options.headers || {}),
      },
    });
    let body = null;
    try { body = await response.json(); } catch (_) { /* not JSON */ }
    if (!response.ok) {
      const message = (body && (body.error || body.message)) || `HTTP ${response.status}`;
      throw Object.assign(new Error(message), { status: response.status });
    }
    return body;
  }

  // The server writes datetimes in the site's time zone; show them as they are.
  const formatTime = (iso) => iso.slice(0, 10) + " " + iso.slice(11, 16);

  function showError(message) {
    $("error").textContent = message;
    $("error").hidden = !message;
  }

  function setStatus(message, kind) {
    $("pay-status").textContent = message;
    $("pay-status").dataset.kind = kind;
  }

  function stopTimers() {
    clearTimeout(pollTimer);
    clearInterval(tickTimer);
  }

  function tick() {
    const left = Math.max(0, Math.floor((order.deadline - Date.now()) / 1000));
    const mm = String(Math.floor(left / 60)).padStart(2, "0");
    const ss = String(left % 60).padStart(2, "0");
    $("countdown").textContent = `${mm}:${ss}`;
  }

  async function poll() {
    try {
      const state = await request(config.statusUrl.replace("ORDER", order.id));
      showError("");
      if (state.status === PENDING) {
        pollTimer = setTimeout(poll, config.pollMilliseconds);
        return;
      }
      finish(state.status);
    } catch (error) {
      if (error.status === 404 || error.status === 403) {
        showError(text.failed + error.message);
        stopTimers();
        return;
      }
      showError(text.network + error.message);
      pollTimer = setTimeout(poll, config.pollMilliseconds);
    }
  }

  async function finish(status) {
    stopTimers();
    document.querySelectorAll("[data-simulate]").forEach((b) => (b.hidden = true));
    $("restart").hidden = status === PAID;
    if (status === PAID) {
      setStatus(text.paid, "paid");
      await Promise.all([refreshMembership(), refreshOrders()]).catch((error) =>
        showError(text.network + error.message));
    } else {
      $("checkout").dataset.closed = "";  // dims the QR code: it can no longer be paid
      setStatus(status === EXPIRED ? text.expired : text.cancelled, "closed");
      refreshOrders().catch((error) => showError(text.network + error.message));
      $("restart").focus();
    }
  }

  async function refreshMembership() {
    const { data: me } = await request(config.currentUserUrl);
    const state = $("vip-state");
    state.dataset.state = me.isVip ? "active" : "none";
    if (me.isVip) {
      state.innerHTML = '<span class="badge gold">VIP</span> ';
      state.append(text.memberUntil + " ");
      const date = document.createElement("strong");
      date.textContent = me.vipExpireTime ? formatTime(me.vipExpireTime) : text.noEnd;
      state.append(date);
    }
  }

  async function refreshOrders() {
    const page = await request(config.ordersUrl);
    const rows = page.content.map((o) => {
      const row = document.createElement("tr");
      for (const value of [o.orderNumber, o.vipTypeName, `¥${o.amount.toFixed(2)}`, o.statusName]) {
        const cell = document.createElement("td");
        cell.textContent = value;
        row.append(cell);
      }
      return row;
    });
    $("orders").replaceChildren(...rows);
  }

  async function buy(event) {
    event.preventDefault();
    const plan = document.querySelector("input[name=plan]:checked");
    const method = document.querySelector("input[name=method]:checked");
    if (!plan || !method) return;
    stopTimers();
    showError("");
    $("buy").disabled = true;
    setStatus(text.creating, "pending");
    try {
      const created = await request(config.generateUrl, {
        method: "POST",
        body: JSON.stringify({
          userId: config.userId,
          planId: Number(plan.value),
          amount: plan.dataset.price,
          paymentMethod: Number(method.value),
        }),
      });
      order = { id: created.orderId, deadline: Date.parse(created.expireTime) };
      $("qr").src = created.qrCodeUrl;
      $("order-number").textContent = created.orderId;
      $("order-amount").textContent = `¥${created.amount.toFixed(2)}`;
      // The sandbox's orders get its buttons; a real provider's are paid by scanning the code.
      const simulated = "sandbox" in method.dataset;
      document.querySelectorAll("[data-simulate]").forEach((b) => (b.hidden = !simulated));
      $("restart").hidden = true;
      delete $("checkout").dataset.closed;
      $("checkout").hidden = false;
      $("checkout").focus();
      setStatus(text.pending, "pending");
      tick();
      tickTimer = setInterval(tick, 1000);
      pollTimer = setTimeout(poll, config.pollMilliseconds);
      refreshOrders().catch(() => {});
    } catch (error) {
      setStatus("", "");
      showError(text.failed + error.message);
    } finally {
      $("buy").disabled = false;
    }
  }

  async function simulate(event) {
    const result = event.currentTarget.dataset.simulate;
    try {
      await request(config.simulateUrl.replace("ORDER", order.id), {
        method: "POST",
        body: JSON.stringify({ status: result }),
      });
      setStatus(text.sent, "pending");
    } catch (error) {
      showError(text.failed + error.message);
    }
  }

  function restart() {
    stopTimers();
    order = null;
    $("checkout").hidden = true;
    setStatus("", "");
    document.querySelector("input[name=plan]:checked")?.focus();
  }

  $("buy-form").addEventListener("submit", buy);
  $("restart").addEventListener("click", restart);
  document.querySelectorAll("[data-simulate]").forEach((b) => b.addEventListener("click", simulate));
})();
