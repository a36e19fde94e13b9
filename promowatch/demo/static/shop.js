/* Demo Shop: cookie banner, and the live stock of products whose availability the server does not render. */
(function () {
  "use strict";

  function setupCookieBanner() {
    var banner = document.getElementById("cookie-banner");
    if (!banner) return;
    if (document.cookie.indexOf("cookie_consent=") >= 0) {
      banner.hidden = true;
      return;
    }
    var close = function (value) {
      document.cookie = "cookie_consent=" + value + "; path=/; max-age=31536000; SameSite=Lax";
      banner.hidden = true;
    };
    document.getElementById("cookie-accept").addEventListener("click", function () { close("all"); });
    document.getElementById("cookie-settings").addEventListener("click", function () { close("necessary"); });
  }

  function text(tag, className, content) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    node.textContent = content;
    return node;
  }

  function renderOnline(root, data) {
    var line = root.querySelector(".product-main .stock-line");
    var delivery = root.querySelector(".product-main .delivery");
    var actions = root.querySelector("[data-live-buy]");
    var online = data.online;
    line.textContent = online.label;
    line.className = "stock-line stock-" + online.status;
    line.setAttribute("data-state", "loaded");
    if (online.delivery) {
      delivery.textContent = online.delivery;
      delivery.hidden = false;
    }
    var form = document.createElement("form");
    form.className = "add-to-cart";
    form.action = "/panier";
    form.method = "post";
    var sku = document.createElement("input");
    sku.type = "hidden";
    sku.name = "sku";
    sku.value = data.sku;
    var button = text("button", "btn btn-primary btn-cart", "Ajouter au panier");
    button.type = "submit";
    button.disabled = !online.orderable;
    form.appendChild(sku);
    form.appendChild(button);
    actions.appendChild(form);
  }

  function renderStores(widget, data, stores) {
    var names = {};
    stores.forEach(function (store) { names[store.id] = store.name; });
    var withStock = data.stores.filter(function (s) { return s.quantity > 0; }).length;
    widget.querySelector(".store-summary").textContent =
      "Disponible dans " + withStock + " magasins sur " + data.stores.length;
    var list = widget.querySelector(".store-list");
    data.stores.slice(0, 6).forEach(function (s) {
      var row = text("li", "store-row", "");
      row.appendChild(text("span", "store-name", names[s.store_id] || s.store_id));
      row.appendChild(document.createTextNode(" "));
      var label = s.status === "none" ? "Épuisé" : (s.status === "low" ? "Stock faible (" + s.quantity + ")" : "En stock (" + s.quantity + ")");
      row.appendChild(text("span", "store-stock store-stock-" + s.status, label));
      list.appendChild(row);
    });
    widget.setAttribute("data-state", "loaded");
  }

  function showError(root) {
    var line = root.querySelector(".product-main .stock-line");
    line.textContent = "Disponibilité momentanément indisponible";
    line.setAttribute("data-state", "error");
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (response) {
      if (!response.ok) throw new Error(url + ": " + response.status);
      return response.json();
    });
  }

  function setupLiveStock() {
    var root = document.querySelector("[data-live-stock]");
    if (!root) return;
    var sku = root.getAttribute("data-live-stock");
    // like many shops, availability is hydrated a moment after the page is shown
    var delay = parseInt(root.getAttribute("data-live-delay") || "400", 10);
    window.setTimeout(function () {
      Promise.all([getJSON("/api/stock/" + encodeURIComponent(sku)), getJSON("/api/stores")]).then(function (results) {
        renderOnline(root, results[0]);
        var widget = root.querySelector("[data-live-stores]");
        if (widget) renderStores(widget, results[0], results[1].stores);
      }).catch(function () { showError(root); });
    }, isNaN(delay) ? 400 : delay);
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupCookieBanner();
    setupLiveStock();
  });
})();
