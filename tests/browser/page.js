// The application code of the browser test page: what a web app using skyflow-js writes.
// getBearerToken asks the app's backend (the token vendor, `skyflow-token serve`) for a Skyflow
// bearer token with the user's session JWT, as Skyflow's docs recommend; it counts its calls
// so the test can tell when the SDK reused its cached token and when it asked again.
(function () {
  "use strict";
  var Skyflow = window.Skyflow && window.Skyflow.default;
  var state = {
    calls: 0,          // how many times the SDK called getBearerToken
    expiries: [],      // the vendor's expiresAt for each token handed to the SDK
    claims: [],        // the payload of each token (decoded here for the test; never verified)
    errors: [],        // why a getBearerToken call failed (e.g. a CORS refusal: TypeError)
    client: null,
    loaded: !!Skyflow,
  };
  window.tokenTest = state;

  state.init = function (cfg) {
    state.client = Skyflow.init({
      vaultID: cfg.vaultID,
      vaultURL: cfg.vaultURL,
      getBearerToken: function () {
        state.calls += 1;
        return fetch(cfg.vendorUrl + "/v1/token", {
          method: "POST",
          headers: {
            "Authorization": "Bearer " + cfg.sessionToken,
            "Content-Type": "application/json",
          },
          body: JSON.stringify(cfg.role ? { role: cfg.role } : {}),
        }).then(function (r) {
          if (!r.ok) {
            throw new Error("token vendor answered HTTP " + r.status);
          }
          return r.json();
        }).then(function (body) {
          state.expiries.push(body.expiresAt);
          try {
            var part = String(body.accessToken).split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
            state.claims.push(JSON.parse(atob(part + "===".slice((part.length + 3) % 4))));
          } catch (e) {
            state.claims.push(null);
          }
          return body.accessToken;
        }).catch(function (err) {
          state.errors.push(err && err.name + ": " + err.message);
          throw err;
        });
      },
      options: { logLevel: cfg.logLevel || "ERROR", env: "DEV" },
    });
  };

  // One SDK operation ("insert", "get", "detokenize") with a time limit (the SDK waits forever
  // when its frame never answers); resolves {ok, value} or {ok: false, error} so the test sees
  // the SDK's own error objects.
  state.run = function (op, args, timeoutMs) {
    var call = state.client[op].apply(state.client, args);
    var timer = new Promise(function (resolve) {
      setTimeout(function () {
        resolve({ ok: false, error: "timeout: no answer from the SDK after " + timeoutMs + " ms" });
      }, timeoutMs || 15000);
    });
    return Promise.race([
      call.then(function (value) { return { ok: true, value: value }; },
        function (error) {
          var e = error instanceof Error
            ? { name: error.name, message: error.message, error: error.error }
            : error;
          return { ok: false, error: JSON.parse(JSON.stringify(e === undefined ? null : e)) };
        }),
      timer,
    ]);
  };
})();
