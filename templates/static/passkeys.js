// Passkeys (WebAuthn) for the sign-in pages and the Security tab.
//
// A form with data-passkey-options holds the CSRF token, a hidden
// "credential" field and a button whose data-passkey-mode says what it does:
//   login    sign in with a passkey alone; also offers the browser's passkeys
//            in the email field's autofill (conditional mediation)
//   step     answer the second step after a password with a passkey
//   register add a passkey to the account (the form also has "name")
// The server begins each ceremony (POST to data-passkey-options answers the
// options as JSON and binds the ceremony to this browser with a cookie); the
// browser's answer goes back in the form, posted like any other form.
// Without JavaScript or WebAuthn the buttons stay hidden.
"use strict";
(function () {
  var form = document.querySelector("form[data-passkey-options]");
  if (!form) { return; }
  var button = form.querySelector("button[data-passkey-mode]");
  var status = document.getElementById("passkey-status");
  var mode = button ? button.getAttribute("data-passkey-mode") : "";
  var say = function (msg) { if (status) { status.textContent = msg; } };
  if (!button || !window.PublicKeyCredential || !navigator.credentials) {
    say(mode === "login" ? "" : "This browser cannot use passkeys.");
    return;
  }

  var b64url = function (buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) { s += String.fromCharCode(bytes[i]); }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  var unb64url = function (s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  };
  var withIDs = function (list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: unb64url(c.id) }); });
  };
  var creationOptions = function (json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) { return PublicKeyCredential.parseCreationOptionsFromJSON(json); }
    return Object.assign({}, json, { challenge: unb64url(json.challenge),
      user: Object.assign({}, json.user, { id: unb64url(json.user.id) }), excludeCredentials: withIDs(json.excludeCredentials) });
  };
  var requestOptions = function (json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) { return PublicKeyCredential.parseRequestOptionsFromJSON(json); }
    return Object.assign({}, json, { challenge: unb64url(json.challenge), allowCredentials: withIDs(json.allowCredentials) });
  };
  var credentialJSON = function (cred) {
    if (typeof cred.toJSON === "function") { return cred.toJSON(); }
    var r = cred.response;
    var out = { id: cred.id, rawId: b64url(cred.rawId), type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: b64url(r.clientDataJSON) } };
    if (cred.authenticatorAttachment) { out.authenticatorAttachment = cred.authenticatorAttachment; }
    if (r.attestationObject) {
      out.response.attestationObject = b64url(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = b64url(r.authenticatorData);
      out.response.signature = b64url(r.signature);
      if (r.userHandle) { out.response.userHandle = b64url(r.userHandle); }
    }
    return out;
  };

  // begin asks the server for a new ceremony; one at a time, so the cookie
  // the browser keeps is always the last ceremony's.
  var queue = Promise.resolve();
  var begin = function () {
    var run = function () {
      var body = new URLSearchParams();
      body.set("csrf_token", form.elements.csrf_token.value);
      return fetch(form.getAttribute("data-passkey-options"), {
        method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" }
      }).then(function (res) {
        if (res.ok) { return res.json(); }
        return res.json().catch(function () { return {}; }).then(function (j) {
          throw new Error(typeof j.detail === "string" ? j.detail : "Puguh could not start the passkey (" + res.status + ").");
        });
      });
    };
    var p = queue.then(run, run);
    queue = p.catch(function () {});
    return p;
  };
  var submit = function (cred) {
    form.elements.credential.value = JSON.stringify(credentialJSON(cred));
    say("Checking your passkey…");
    form.submit();
  };

  // Conditional mediation: the browser offers passkeys in the email field's
  // autofill (autocomplete="username webauthn") while the page is open.
  var conditional = null;
  if (mode === "login" && PublicKeyCredential.isConditionalMediationAvailable) {
    PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
      if (!ok || conditional === false) { return; }
      var ctl = new AbortController();
      conditional = ctl;
      begin().then(function (o) {
        if (ctl.signal.aborted) { return null; }
        return navigator.credentials.get({ publicKey: requestOptions(o.publicKey), mediation: "conditional", signal: ctl.signal });
      }).then(function (cred) {
        if (cred) { submit(cred); }
      }, function () { /* aborted or dismissed: the button and the password remain */ });
    }, function () {});
  }

  button.hidden = false;
  if (mode !== "login") { say(""); }
  button.addEventListener("click", function () {
    if (conditional) { conditional.abort(); }
    conditional = false;
    var name = form.elements.name;
    if (mode === "register" && name && !name.value.trim()) {
      say("Enter a name for the passkey first.");
      name.focus();
      return;
    }
    button.disabled = true;
    say("Follow your browser's prompt…");
    begin().then(function (o) {
      if (mode === "register") { return navigator.credentials.create({ publicKey: creationOptions(o.publicKey) }); }
      return navigator.credentials.get({ publicKey: requestOptions(o.publicKey) });
    }).then(function (cred) {
      if (!cred) { throw new Error("No passkey was chosen."); }
      submit(cred);
    }).catch(function (err) {
      button.disabled = false;
      if (err && err.name === "NotAllowedError") {
        say("The passkey prompt was closed or timed out. Try again.");
      } else if (err && err.name === "InvalidStateError") {
        say("This authenticator already holds a passkey for your account.");
      } else {
        say((err && err.message) || "The passkey did not work. Try again.");
      }
    });
  });
}());
