// The sandbox checkout a payer's phone opens from the QR code: the two buttons ask the sandbox
// gateway to pay or fail the order; it then notifies the platform as a real gateway would.
"use strict";
(function () {
  const form = document.getElementById("sandbox-pay");
  const result = document.getElementById("result");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = event.submitter.value;
    const token = form.querySelector("[name=csrfmiddlewaretoken]").value;
    try {
      const response = await fetch(form.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-XSRF-TOKEN": token },
        body: JSON.stringify({ status }),
      });
      const body = await response.json();
      result.textContent = response.ok
        ? (status === "SUCCESS" ? form.dataset.paid : form.dataset.failed)
        : body.error;
    } catch (error) {
      result.textContent = form.dataset.network + error.message;
    }
  });
})();
