// Progressive enhancement: a search box with data-filter="TABLE_ID" filters that table's rows as
// one types. Without script the same box submits the form and the server filters.
document.addEventListener("DOMContentLoaded", () => {
  for (const box of document.querySelectorAll("input[data-filter]")) {
    const table = document.getElementById(box.dataset.filter);
    if (!table) continue;
    box.addEventListener("input", () => {
      const q = box.value.trim().toLowerCase();
      for (const row of table.tBodies[0].rows) {
        row.hidden = q !== "" && !row.textContent.toLowerCase().includes(q);
      }
    });
  }
});
