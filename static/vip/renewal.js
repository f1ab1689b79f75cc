// 连续包月 on the VIP page: sign (show the provider's signing QR code, follow the agreement
// every 2 seconds until the member has signed), and cancel.
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("page-config").textContent);
  const text = JSON.parse(document.getElementById("page-text").textContent);
  const $ = (id) => document.getElementById(id);
  if (!$("renewal")) return;

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)XSRF-TOKEN=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function request(url, options = {}) {
    const response = await fetch(url, {
      credentials: "same-origin",
      ...options,
      headers: { Accept: "application/json", "Content-Type": "application/json",
                 "X-XSRF-TOKEN": csrfToken() },
    });
    let body = null;
    try { body = await response.json(); } catch (_) { /* not JSON */ }
    if (!response.ok) {
      throw new Error((body && (body.error || body.message)) || `HTTP ${response.status}`);
    }
    return body;
  }

  function showError(message) {
    $("renewal-error").textContent = message ? text.failed + message : "";
    $("renewal-error").hidden = !message;
  }

  async function follow(number) {
    try {
      const agreement = await request(config.agreementUrl.replace("AGREEMENT", number));
      if (agreement.state === "signing") {
        setTimeout(() => follow(number), config.pollMilliseconds);
        return;
      }
      if (agreement.state === "active") {
        $("sign-status").textContent = text.signed;
        setTimeout(() => window.location.reload(), 1500);  // the membership and the agreement
      } else {
        $("sign-status").textContent = text.signLapsed;
      }
    } catch (error) {
      showError(error.message);
      setTimeout(() => follow(number), config.pollMilliseconds);
    }
  }

  async function sign(event) {
    event.preventDefault();
    const plan = document.querySelector("input[name=renewal-plan]:checked");
    const method = document.querySelector("input[name=renewal-method]:checked");
    if (!plan || !method) return;
    showError("");
    $("sign").disabled = true;
    try {
      const agreement = await request(config.agreementsUrl, {
        method: "POST",
        body: JSON.stringify({ planId: Number(plan.value), paymentMethod: Number(method.value) }),
      });
      $("sign-qr").src = agreement.qrCodeUrl;
      $("signing").dataset.agreement = agreement.agreementNumber;
      $("signing").hidden = false;
      $("sign-status").textContent = text.signing;
      follow(agreement.agreementNumber);
    } catch (error) {
      showError(error.message);
    } finally {
      $("sign").disabled = false;
    }
  }

  async function cancel() {
    if (!window.confirm(text.cancelConfirm)) return;
    const number = $("my-agreement").dataset.agreement;
    $("cancel-renewal").disabled = true;
    try {
      await request(config.cancelAgreementUrl.replace("AGREEMENT", number), { method: "POST" });
      window.location.reload();
    } catch (error) {
      showError(error.message);
      $("cancel-renewal").disabled = false;
    }
  }

  $("renew-form")?.addEventListener("submit", sign);
  $("cancel-renewal")?.addEventListener("click", cancel);
  const signing = $("signing");
  if (signing && !signing.hidden && signing.dataset.agreement) {
    $("sign-status").textContent = text.signing;
    follow(signing.dataset.agreement);
  }
})();
