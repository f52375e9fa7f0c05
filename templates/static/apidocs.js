// /docs/api: renders this server's OpenAPI document with the vendored
// Swagger UI (templates/apidocs). Loaded after the bundle (both deferred).
"use strict";
(function () {
  var status = document.getElementById("apidocs-status");
  var fail = function (why) { status.textContent = "The API document could not be loaded (" + why + "). It is at /api/v1/openapi.json."; };
  if (typeof window.SwaggerUIBundle !== "function") { fail("the renderer did not load"); return; }
  fetch("/api/v1/openapi.json", { credentials: "omit", headers: { Accept: "application/json" } })
    .then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    })
    .then(function (spec) {
      // "Try it out" talks to the Puguh that serves this page, whatever host
      // the document names (it names a local one).
      spec.servers = [{ url: window.location.origin, description: "this Puguh" }];
      window.SwaggerUIBundle({
        spec: spec,
        domNode: document.getElementById("swagger-ui"),
        presets: [window.SwaggerUIBundle.presets.apis],
        layout: "BaseLayout",
        deepLinking: true,
        docExpansion: "list",
        defaultModelsExpandDepth: 0,
        displayOperationId: true,
        // No online validator: nothing leaves this server.
        validatorUrl: "none"
      });
      status.hidden = true;
    })
    .catch(function (e) { fail(e.message); });
})();
