/* Housing repairs chat: the page's behaviour. Vanilla JavaScript, no build step, nothing from elsewhere.
 *
 * - A message stays in the box until the server has answered it, so nothing is lost when the
 *   assistant is down; the reason is shown in the alert region.
 * - The conversation is kept in sessionStorage (this tab only, gone when it closes), so a reload
 *   keeps it and a shared computer does not.
 * - Updates (a repair booked, an operative on the way...) are asked for when the page opens, every
 *   few seconds while it is visible, and when it becomes visible again; each is acknowledged once
 *   shown, and one shown before (a lost acknowledgement) is not shown twice.
 * - Too many requests too fast (429): the server's words say how long to wait, and the page waits that
 *   long before sending again (a second try says so without asking the server). Polls that were refused
 *   wait quietly, longer each time it happens again, so a page left open never keeps knocking.
 * - Everything is written with textContent: nothing from the server is ever read as HTML.
 */
(function () {
  "use strict";

  var STORE = "repairs-chat-v1";
  var REQUEST_TIMEOUT_MS = 65000;
  var NETWORK_DOWN = "Sorry, I can't reach the chat service. Check your internet connection and try again. " +
    "Your message is still in the box.";
  var GENERIC = "Sorry, something went wrong. Please try again.";
  var MAX_POLL_BACKOFF_SECONDS = 300;

  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var main = document.getElementById("chat");
  var pollSeconds = Number(main.getAttribute("data-poll-seconds")) || 20;
  var maxPhotoBytes = Number(main.getAttribute("data-max-photo-bytes")) || 10485760;
  var maxPhotoMb = main.getAttribute("data-max-photo-mb") || "10";
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var box = document.getElementById("message");
  var photoButton = document.getElementById("photo-button");
  var photoInput = document.getElementById("photo");
  var alertBox = document.getElementById("alert");
  var typing = document.getElementById("typing");
  var forgetButton = document.getElementById("forget");

  var state = load();
  var busy = false;
  var polling = false;
  var ended = false;
  var pendingPhoto = null; // a photo waiting for the resident to say which repair it is for
  var holdUntil = 0; // no message or photo is sent before this time (ms): the server asked us to wait
  var pollHoldUntil = 0; // nor any poll before this
  var pollBackoff = 0; // seconds: doubles with each refused poll, back to 0 after one that is answered

  // -- storage ---------------------------------------------------------------------------------------

  function load() {
    try {
      var saved = JSON.parse(window.sessionStorage.getItem(STORE) || "null");
      if (saved && Array.isArray(saved.entries)) {
        saved.shown = Array.isArray(saved.shown) ? saved.shown : [];
        saved.acks = Array.isArray(saved.acks) ? saved.acks : [];
        return saved;
      }
    } catch (e) { /* storage off or corrupt: start afresh */ }
    return { entries: [], shown: [], acks: [] };
  }

  function save() {
    state.entries = state.entries.slice(-200);
    state.shown = state.shown.slice(-500);
    try { window.sessionStorage.setItem(STORE, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }

  // -- rendering -------------------------------------------------------------------------------------

  var LABELS = { you: "You said:", bot: "Assistant said:", update: "Update on your repair:" };

  function render(entry, index) {
    var item = document.createElement("div");
    item.className = "msg " + entry.who;
    var label = document.createElement("span");
    label.className = entry.who === "update" ? "label" : "label visually-hidden";
    label.textContent = entry.who === "update" ? "Update" : LABELS[entry.who];
    if (entry.who === "update") {
      var spoken = document.createElement("span");
      spoken.className = "visually-hidden";
      spoken.textContent = " on your repair:";
      label.appendChild(spoken);
    }
    var text = document.createElement("p");
    text.className = "text";
    text.appendChild(label);
    text.appendChild(document.createTextNode(entry.text));
    item.appendChild(text);
    if (entry.image) {
      var link = document.createElement("a");
      link.href = entry.image;
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      link.textContent = "Open the picture (opens in a new tab)";
      item.appendChild(link);
    }
    if (entry.buttons && entry.buttons.length) {
      var group = document.createElement("div");
      group.className = "choices";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "Choose an answer");
      entry.buttons.forEach(function (choice) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = (entry.chosen === choice.title ? "\u2713 " : "") + choice.title;
        if (entry.chosen === choice.title) { button.setAttribute("aria-pressed", "true"); }
        button.disabled = !!entry.closed;
        button.addEventListener("click", function () { choose(index, choice); });
        group.appendChild(button);
      });
      item.appendChild(group);
    }
    log.appendChild(item);
  }

  function renderAll() {
    log.setAttribute("aria-busy", "true"); // a restored conversation is not read out again
    while (log.firstChild) { log.removeChild(log.firstChild); }
    state.entries.forEach(render);
    log.setAttribute("aria-busy", "false");
  }

  function add(entry) {
    state.entries.push(entry);
    save();
    render(entry, state.entries.length - 1);
  }

  function addReplies(messages, who) {
    (messages || []).forEach(function (m) {
      add({ who: who || "bot", text: String(m.text || ""), buttons: m.buttons || [], image: m.image || null });
    });
  }

  // Once the conversation moves on, earlier questions' buttons cannot answer it any more.
  function closeButtons() {
    var changed = false;
    state.entries.forEach(function (entry) {
      if (entry.buttons && entry.buttons.length && !entry.closed) { entry.closed = true; changed = true; }
    });
    if (changed) {
      save();
      Array.prototype.forEach.call(log.querySelectorAll(".choices button"), function (b) { b.disabled = true; });
    }
  }

  function showAlert(message) {
    alertBox.textContent = message;
    alertBox.hidden = false;
  }

  function clearAlert() {
    alertBox.hidden = true;
    alertBox.textContent = "";
  }

  function setBusy(on, what) {
    busy = on;
    form.setAttribute("aria-busy", on ? "true" : "false");
    typing.textContent = on ? (what || "The assistant is replying\u2026") : "";
  }

  function keepInView() {
    form.scrollIntoView({ block: "end" });
  }

  // -- talking to the server -------------------------------------------------------------------------

  function request(url, body, contentType) {
    var controller = new AbortController();
    var timer = window.setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS);
    return window.fetch(url, {
      method: "POST",
      headers: { "Content-Type": contentType || "application/json", "X-CSRF-Token": csrf },
      body: contentType ? body : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      signal: controller.signal
    }).finally(function () { window.clearTimeout(timer); });
  }

  function readJson(response) {
    return response.json().catch(function () { return {}; });
  }

  function retryAfterSeconds(response, data) {
    var seconds = parseInt(response.headers.get("Retry-After"), 10) || Number(data && data.retry_after);
    return seconds > 0 ? seconds : pollSeconds;
  }

  function refused(response, data) {
    if (response.status === 403 && data.error === "no_session") { ended = true; }
    if (response.status === 429) { holdUntil = Date.now() + retryAfterSeconds(response, data) * 1000; }
    showAlert(data.message || GENERIC);
  }

  // True (and says so) while the server's "please wait" still holds, so a second try does not ask again.
  function stillWaiting(then) {
    var left = Math.ceil((holdUntil - Date.now()) / 1000);
    if (left <= 0) { return false; }
    showAlert("Please wait " + (left === 1 ? "1 second" : left + " seconds") + ", then " + then);
    return true;
  }

  // One turn: true when the server took it (the caller then clears the box).
  function send(body, shownAs) {
    if (busy || ended) { return Promise.resolve(false); }
    if (stillWaiting("try again. Your message is still in the box.")) { return Promise.resolve(false); }
    setBusy(true);
    clearAlert();
    return request("/webchat/api/message", body).then(function (response) {
      return readJson(response).then(function (data) {
        if (!response.ok) { refused(response, data); return false; }
        closeButtons();
        add({ who: "you", text: shownAs });
        addReplies(data.messages);
        keepInView();
        return true;
      });
    }).catch(function () {
      showAlert(NETWORK_DOWN);
      return false;
    }).finally(function () { setBusy(false); });
  }

  function choose(index, choice) {
    var entry = state.entries[index];
    if (!entry || entry.closed || busy) { return; }
    if (choice.reference) { // which repair a photo is for: the page sends the photo again
      if (!pendingPhoto) { showAlert("Sorry, I no longer have that photo. Please add it again."); return; }
      uploadPhoto(pendingPhoto, choice.reference, function () { entry.chosen = choice.title; }, choice.title);
      return;
    }
    send({ button: { payload: choice.payload, sig: choice.sig } }, choice.title).then(function (ok) {
      if (ok) {
        entry.chosen = choice.title;
        save();
        renderAll();
        box.focus();
      }
    });
  }

  function uploadPhoto(file, reference, onDone, shownAs) {
    if (busy || ended) { return; }
    if (stillWaiting("add the photo again.")) { return; }
    clearAlert();
    if (file.size > maxPhotoBytes) {
      showAlert("That photo is too large (" + maxPhotoMb + " MB at most). Please choose a smaller one.");
      return;
    }
    setBusy(true, "Sending your photo\u2026");
    var url = "/webchat/api/photo" + (reference ? "?reference=" + encodeURIComponent(reference) : "");
    request(url, file, file.type || "application/octet-stream").then(function (response) {
      return readJson(response).then(function (data) {
        if (!response.ok) { refused(response, data); return; }
        closeButtons();
        if (onDone) { onDone(); }
        add({ who: "you", text: shownAs || "Sent a photo: " + file.name });
        var asksWhich = (data.messages || []).some(function (m) {
          return (m.buttons || []).some(function (b) { return b.reference; });
        });
        pendingPhoto = asksWhich ? file : null;
        addReplies(data.messages);
        if (onDone) { renderAll(); }
        keepInView();
      });
    }).catch(function () {
      showAlert("Sorry, I can't reach the chat service. Check your internet connection and add the photo again.");
    }).finally(function () { setBusy(false); });
  }

  // -- updates, pulled -------------------------------------------------------------------------------

  // Refused for asking too often: wait what the server says, or longer if it keeps happening. Nothing is
  // shown: the resident did nothing wrong, and the updates wait in the outbox.
  function backOffPolling(response) {
    pollBackoff = Math.min(pollBackoff ? pollBackoff * 2 : pollSeconds * 2, MAX_POLL_BACKOFF_SECONDS);
    pollHoldUntil = Date.now() + Math.max(retryAfterSeconds(response, null), pollBackoff) * 1000;
  }

  // Resolves false when the server refused it for coming too fast (the poll then stops there).
  function flushAcks() {
    if (!state.acks.length) { return Promise.resolve(true); }
    var acks = state.acks.slice(0, 100);
    return request("/webchat/api/updates/ack", { acks: acks }).then(function (response) {
      if (response.status === 429) { backOffPolling(response); return false; }
      // 400: not ours (an old session's); dropping them is right, the server never marks them.
      if (response.ok || response.status === 400) {
        state.acks = state.acks.slice(acks.length);
        save();
      }
      return true;
    });
  }

  function poll() {
    if (polling || ended || document.hidden || Date.now() < pollHoldUntil) { return; }
    polling = true;
    flushAcks().then(function (go) {
      return go ? request("/webchat/api/updates", {}) : null;
    }).then(function (response) {
      if (!response) { return null; }
      if (response.status === 429) { backOffPolling(response); return null; }
      if (!response.ok) { return null; }
      pollBackoff = 0;
      return readJson(response);
    }).then(function (data) {
      if (!data || !data.messages || !data.messages.length) { return null; }
      data.messages.forEach(function (m) {
        if (state.shown.indexOf(m.id) === -1) {
          state.shown.push(m.id);
          add({ who: "update", text: String(m.text || ""), buttons: m.buttons || [] });
        }
        state.acks.push(m.ack);
      });
      save();
      keepInView();
      return flushAcks();
    }).catch(function () { /* offline: the next poll tries again, and nothing is marked seen */ })
      .finally(function () { polling = false; });
  }

  // -- forget this chat ------------------------------------------------------------------------------

  function forget() {
    if (busy) { return; }
    if (!window.confirm("Forget this chat? This browser will no longer be linked to your tenancy, and our " +
                        "conversation will be erased. Your repair records stay with the council.")) { return; }
    setBusy(true, "Forgetting this chat\u2026");
    clearAlert();
    request("/webchat/api/forget", {}).then(function (response) {
      return readJson(response).then(function (data) {
        if (!response.ok) { refused(response, data); return; }
        state = { entries: [], shown: [], acks: [] };
        try { window.sessionStorage.removeItem(STORE); } catch (e) { /* nothing kept */ }
        renderAll();
        // Shown, not kept: nothing of this conversation stays in the browser.
        (data.messages || []).forEach(function (m) { render({ who: "bot", text: String(m.text || "") }, -1); });
        ended = true;
        showAlert("To start a new chat, reload the page.");
      });
    }).catch(function () { showAlert(GENERIC); })
      .finally(function () { setBusy(false); });
  }

  // -- wiring ----------------------------------------------------------------------------------------

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = box.value;
    if (!text.trim()) { showAlert("Please type a message first."); box.focus(); return; }
    send({ text: text }, text).then(function (ok) {
      if (ok) { box.value = ""; }
      box.focus();
    });
  });

  box.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (typeof form.requestSubmit === "function") { form.requestSubmit(); }
      else { form.dispatchEvent(new Event("submit", { cancelable: true })); }
    }
  });

  photoButton.addEventListener("click", function () { photoInput.click(); });
  photoInput.addEventListener("change", function () {
    var file = photoInput.files && photoInput.files[0];
    photoInput.value = "";
    if (file) { uploadPhoto(file, null, null, null); }
    photoButton.focus();
  });

  forgetButton.addEventListener("click", forget);

  document.addEventListener("visibilitychange", function () { if (!document.hidden) { poll(); } });
  window.setInterval(poll, pollSeconds * 1000);

  renderAll();
  poll();
}());
