// OUR STAND-IN for skyflow-js's controller frame (https://js.skyflow.com/v2.7.4/elements/
// index.html), written for the browser test from how skyflow-js 2.7.4 behaves; none of
// Skyflow's frame code is here. The page side stays the real npm bundle, so everything the SDK
// does in the page (frame creation, the handshake answers, getBearerToken, its JWT expiry check
// and token cache) is Skyflow's code; what this frame does is ours and is what the real frame
// does, as far as the test needs it:
//
//   1. window.name is "skyflow_controller:<clientId>:<btoa(page origin)>:<tracking>" (set by the
//      SDK when it creates the iframe).
//   2. On load it emits PUREJS_FRAME_READY<clientId> over framebus; the page answers with its
//      client config ({config: {vaultID, vaultURL, ...}, metaData}) and context.
//   3. It listens for PUREJS_REQUEST<clientId> from the page's origin only ({type: INSERT | GET |
//      DETOKENIZE, records, options}) and answers with the result or {error}.
//   4. Before each data call it emits GET_BEARER_TOKEN<clientId>; the page's SDK answers
//      {authToken} (from its cache, or after calling getBearerToken) or {error}.
//   5. The data call is an XHR to the vault URL with the headers the real frame sends
//      (authorization: Bearer, content-type, sky-metadata).
//
// Differences from the real frame, kept on purpose (docs/browser-test.md): insert is one
// POST /v1/vaults/{id}/{table} per record instead of the real frame's batch POST /v1/vaults/{id}
// (the emulator's Data API slice has no batch endpoint); GET supports ids only (no
// column_name/column_values); only the id-suffixed GET_BEARER_TOKEN is emitted (the page's SDK
// listens to that one); no metrics, no element frames, no file upload, update or delete.
//
// framebus 4 wire format (the npm package the SDK bundles): a string "/*framebus*/" + JSON
// {event, origin, eventData, reply?}; emit posts it to window.top (which the SDK's page is);
// a reply is posted straight back to the sender's window with event = the reply id.
(function () {
  "use strict";
  var PREFIX = "/*framebus*/";
  var parts = String(window.name).split(":");
  if (parts[0] !== "skyflow_controller" || !parts[1]) {
    document.title = "stand-in frame: not a skyflow_controller frame";
    return;
  }
  var clientId = parts[1];
  var clientDomain = document.referrer.split("/").slice(0, 3).join("/");
  if (!clientDomain) {
    try { clientDomain = atob(parts[2] || ""); } catch (e) { clientDomain = ""; }
  }
  var replies = {};
  var client = null;          // {config, metaData} as the page's SDK sent it
  var waiting = [];           // requests that arrived before the page's config

  function newId() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); })
      .join("");
  }

  function emit(event, data, reply) {
    var payload = { event: event, origin: "*", eventData: data };
    if (reply) {
      var id = newId();
      replies[id] = reply;
      payload.reply = id;
    }
    window.top.postMessage(PREFIX + JSON.stringify(payload), "*");
  }

  function getAccessToken() {
    return new Promise(function (resolve, reject) {
      emit("GET_BEARER_TOKEN" + clientId, {}, function (data) {
        if (data && data.error) reject(data.error);
        else resolve(data && data.authToken);
      });
    });
  }

  function vaultBase() {
    return client.config.vaultURL + "/v1/vaults/" + client.config.vaultID;
  }

  function skyMetadata() {
    return JSON.stringify({
      sdk_name_version: "skyflow-js@" + ((client.metaData && client.metaData.sdk_version) || "2.7.4"),
      sdk_client_device_model: "desktop",
      sdk_os_version: navigator.platform,
      sdk_runtime_details: "test stand-in frame",
    });
  }

  function xhr(method, url, token, body) {
    return new Promise(function (resolve, reject) {
      var x = new XMLHttpRequest();
      x.open(method, url);
      x.setRequestHeader("authorization", "Bearer " + token);
      x.setRequestHeader("content-type", "application/json");
      x.setRequestHeader("sky-metadata", skyMetadata());
      x.onload = function () {
        var parsed;
        try { parsed = JSON.parse(x.responseText); } catch (e) { parsed = x.responseText; }
        if (x.status < 200 || x.status >= 400) {
          var msg = parsed && parsed.error && parsed.error.message;
          reject({ error: { code: x.status, description: msg || String(x.responseText) } });
        } else {
          resolve(parsed);
        }
      };
      x.onerror = function () {
        reject({ error: { code: x.status, description: "network error (CORS refusal, TLS or connection)" } });
      };
      x.send(body === undefined ? null : JSON.stringify(body));
    });
  }

  function flatten(lists) {
    return { records: [].concat.apply([], lists) };
  }

  function insert(input, options) {
    var tokens = options.tokens !== false;
    return getAccessToken().then(function (token) {
      return Promise.all(input.records.map(function (rec) {
        var url = vaultBase() + "/" + encodeURIComponent(rec.table);
        return xhr("POST", url, token, { records: [{ fields: rec.fields }], tokenization: tokens })
          .then(function (resp) {
            var r = resp.records[0];
            if (!tokens) return [{ table: rec.table, skyflow_id: r.skyflow_id }];
            var fields = { skyflow_id: r.skyflow_id };
            Object.keys(r.tokens || {}).forEach(function (k) { fields[k] = r.tokens[k]; });
            return [{ table: rec.table, fields: fields }];
          });
      }));
    }).then(flatten);
  }

  function get(records, options) {
    return getAccessToken().then(function (token) {
      return Promise.all(records.map(function (rec) {
        var q = (rec.ids || []).map(function (id) { return "skyflow_ids=" + encodeURIComponent(id); });
        if (Object.prototype.hasOwnProperty.call(options, "tokens")) q.push("tokenization=" + options.tokens);
        if (rec.redaction) q.push("redaction=" + encodeURIComponent(rec.redaction));
        var url = vaultBase() + "/" + encodeURIComponent(rec.table) + "?" + q.join("&");
        return xhr("GET", url, token).then(function (resp) {
          return (resp.records || []).map(function (r) {
            var fields = { id: r.fields.skyflow_id };
            Object.keys(r.fields).forEach(function (k) { if (k !== "skyflow_id") fields[k] = r.fields[k]; });
            return { fields: fields, table: rec.table };
          });
        });
      }));
    }).then(flatten);
  }

  function detokenize(records) {
    return getAccessToken().then(function (token) {
      return Promise.all(records.map(function (rec) {
        var body = { detokenizationParameters: [{ token: rec.token, redaction: rec.redaction || "PLAIN_TEXT" }] };
        return xhr("POST", vaultBase() + "/detokenize", token, body).then(function (resp) {
          return resp.records.map(function (r) {
            return { token: r.token, value: r.value, valueType: r.valueType };
          });
        });
      }));
    }).then(flatten);
  }

  function handle(data) {
    var work;
    if (data.type === "INSERT") work = insert(data.records, data.options || {});
    else if (data.type === "GET") work = get(data.records, data.options || {});
    else if (data.type === "DETOKENIZE") work = detokenize(data.records);
    else work = Promise.reject({ error: { code: 400, description: "stand-in frame: " + data.type + " is not implemented" } });
    return work.then(function (result) { return result; },
      function (error) { return { error: error }; });
  }

  function answer(msg, e) {
    var source = e.source, origin = e.origin, replyId = msg.reply;
    handle(msg.eventData || {}).then(function (result) {
      source.postMessage(PREFIX + JSON.stringify({ event: replyId, origin: origin, eventData: result }), origin);
    });
  }

  window.addEventListener("message", function (e) {
    if (typeof e.data !== "string" || e.data.indexOf(PREFIX) !== 0) return;
    var msg;
    try { msg = JSON.parse(e.data.slice(PREFIX.length)); } catch (err) { return; }
    if (msg.event && Object.prototype.hasOwnProperty.call(replies, msg.event)) {
      var fn = replies[msg.event];
      delete replies[msg.event];
      fn(msg.eventData);
      return;
    }
    // Like the real frame (bus.target(clientDomain).on(...)): requests only from the page's origin.
    if (msg.event === "PUREJS_REQUEST" + clientId && e.origin === clientDomain && msg.reply) {
      if (client) answer(msg, e);
      else waiting.push([msg, e]);
    }
  });

  emit("PUREJS_FRAME_READY" + clientId, {}, function (data) {
    client = data.client;
    window.standIn = { clientId: clientId, clientDomain: clientDomain, ready: true };
    waiting.splice(0).forEach(function (w) { answer(w[0], w[1]); });
  });
})();
