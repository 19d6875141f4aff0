// A little help on top of pages that work without it: live refresh, countdown,
// e-mail autocomplete, confirmations and quick day choices.
(function () {
  "use strict";

  // --- live refresh: fetch the page's live regions again every few seconds -----------------
  // A region the user is working in (focus inside, or a form typed into) is left alone.
  const main = document.querySelector("[data-live-url]");
  const EVERY_MS = 4000;
  let signature = main ? main.dataset.liveSignature : "";

  document.addEventListener("input", (event) => {
    if (event.target.form) event.target.form.dataset.dirty = "1";
  });

  function busy(region) {
    const active = document.activeElement;
    const focused = active && region.contains(active) && active.matches("input, select, textarea");
    return focused || region.querySelector("form[data-dirty]") !== null;
  }

  function apply(regions) {
    let complete = true;
    for (const [name, html] of Object.entries(regions)) {
      const region = document.querySelector(`[data-live-region="${name}"]`);
      if (!region) continue;
      if (busy(region)) { complete = false; continue; }
      if (region.dataset.html !== html) {
        region.innerHTML = html;
        region.dataset.html = html;
      }
    }
    return complete;
  }

  async function poll() {
    if (document.hidden) return;
    const url = new URL(main.dataset.liveUrl, window.location.href);
    url.searchParams.set("since", signature);
    try {
      const answer = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (answer.redirected || answer.status === 401 || answer.status === 404) {
        window.location.reload(); // logged out or the group is gone: the page says which
        return;
      }
      if (answer.status !== 200) return;
      const data = await answer.json();
      if (apply(data.regions)) signature = data.signature;
    } catch (error) {
      // offline for a moment: try again on the next tick
    }
  }

  if (main) {
    setInterval(poll, EVERY_MS);
    document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });
  }

  // --- time left of a priority charge ------------------------------------------------------
  function left(ms) {
    const minutes = Math.floor(ms / 60000);
    if (minutes < 1) return "less than a minute left";
    const hours = Math.floor(minutes / 60);
    const rest = String(minutes % 60).padStart(2, "0");
    return hours ? `${hours} h ${rest} min left` : `${minutes} min left`;
  }

  setInterval(() => {
    for (const element of document.querySelectorAll("[data-ends-at]")) {
      const ms = Date.parse(element.dataset.endsAt) - Date.now();
      element.textContent = ms > 0 ? left(ms) : "ending now";
      if (ms <= 0 && main) poll();
    }
  }, 10000);

  // --- confirmations -------------------------------------------------------------------------
  document.addEventListener("submit", (event) => {
    const question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // --- quick day choices in the exclusion editor ----------------------------------------------
  for (const quick of document.querySelectorAll(".days .quick")) quick.hidden = false;
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-days]");
    if (!button) return;
    const days = button.dataset.days.split(",");
    for (const box of button.closest("fieldset").querySelectorAll("input[name=days]")) {
      box.checked = days.includes(box.value);
    }
    button.form.dataset.dirty = "1";
  });

  // --- e-mail autocomplete (a combobox over the JSON API) ------------------------------------
  let timer = null;

  function listOf(input) { return document.getElementById(input.getAttribute("aria-controls")); }

  function moreOf(input) { return document.getElementById(`${input.id}-more`); }

  function close(input) {
    listOf(input).hidden = true;
    if (moreOf(input)) moreOf(input).hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function choose(input, option) {
    input.value = option.dataset.email;
    input.form.dataset.dirty = "1";
    close(input);
    input.focus();
  }

  function sayMore(input, shown, total) {
    const more = moreOf(input);
    if (!more) return;
    const left = total - shown;
    more.textContent = left > 0 ? `${left} more — type more of the address` : "";
    more.hidden = left <= 0;
  }

  function show(input, users, total) {
    const list = listOf(input);
    list.replaceChildren();
    users.forEach((user, index) => {
      const option = document.createElement("li");
      option.id = `${list.id}-${index}`;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.dataset.email = user.email;
      option.textContent = user.email;
      const badge = document.createElement("span");
      badge.className = `badge ${user.status}`;
      badge.textContent = user.status;
      option.append(badge);
      option.addEventListener("mousedown", (event) => { event.preventDefault(); choose(input, option); });
      list.append(option);
    });
    list.hidden = users.length === 0;
    input.setAttribute("aria-expanded", users.length ? "true" : "false");
    sayMore(input, users.length, total);
  }

  async function suggest(input) {
    const typed = input.value.trim();
    if (!typed) { close(input); return; }
    const answer = await fetch(`${input.dataset.autocomplete}?q=${encodeURIComponent(typed)}`,
      { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!answer.ok || input.value.trim() !== typed) return;
    const users = await answer.json();
    show(input, users, Number(answer.headers.get("X-Total-Count") || users.length));
  }

  function move(input, step) {
    const options = [...listOf(input).querySelectorAll("[role=option]")];
    if (!options.length) return;
    let index = options.findIndex((o) => o.getAttribute("aria-selected") === "true") + step;
    index = (index + options.length) % options.length;
    options.forEach((o, i) => o.setAttribute("aria-selected", i === index ? "true" : "false"));
    input.setAttribute("aria-activedescendant", options[index].id);
  }

  document.addEventListener("input", (event) => {
    const input = event.target;
    if (!input.matches || !input.matches("[data-autocomplete]")) return;
    clearTimeout(timer);
    timer = setTimeout(() => suggest(input), 150);
  });

  document.addEventListener("keydown", (event) => {
    const input = event.target;
    if (!input.matches || !input.matches("[data-autocomplete]") || listOf(input).hidden) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      move(input, event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter") {
      const current = listOf(input).querySelector("[aria-selected=true]");
      if (current) { event.preventDefault(); choose(input, current); }
    } else if (event.key === "Escape") {
      close(input);
    }
  });

  document.addEventListener("focusout", (event) => {
    if (event.target.matches && event.target.matches("[data-autocomplete]")) close(event.target);
  });
})();
