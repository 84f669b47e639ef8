// Progressive enhancement of /register: the form works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var form = document.querySelector(".register-form");
  if (!form) { return; }

  function refill(select, url, keep) {
    var placeholder = select.options[0];
    select.options.length = 1;
    if (!url) { return Promise.resolve(); }
    return fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (items) {
        items.forEach(function (item) {
          var option = new Option(item.name, item.code);
          if (item.code === keep) { option.selected = true; }
          select.add(option);
        });
        placeholder.selected = !keep;
      });
  }

  var province = form.elements.province, district = form.elements.district, commune = form.elements.commune;
  province.addEventListener("change", function () {
    refill(district, province.value ? form.dataset.districtsUrl + "?province=" + encodeURIComponent(province.value) : null);
    refill(commune, null);
  });
  district.addEventListener("change", function () {
    refill(commune, district.value ? form.dataset.communesUrl + "?district=" + encodeURIComponent(district.value) : null);
  });

  var micro = document.getElementById("micro-enterprise");
  function toggleMicro() {
    var chosen = form.querySelector("input[name=category]:checked");
    micro.hidden = !(chosen && chosen.value === "micro_enterprise");
  }
  Array.prototype.forEach.call(form.elements.category, function (radio) {
    radio.addEventListener("change", toggleMicro);
  });
  toggleMicro();
})();
