// Client-side filter of the series table. Progressive enhancement only:
// the page is complete without it. Reads the DOM's text; writes no HTML.
const input = document.querySelector('[data-role="filter"]');

function apply() {
  const q = input.value.trim().toLowerCase();
  let shown = 0;
  for (const team of document.querySelectorAll('[data-role="team"]')) {
    const teamName = team.querySelector('h2').textContent.toLowerCase();
    let teamShown = 0;
    for (const row of team.querySelectorAll('[data-role="series"]')) {
      const match = q === '' || teamName.includes(q) || row.textContent.toLowerCase().includes(q);
      row.hidden = !match;
      if (match) teamShown++;
    }
    team.hidden = teamShown === 0;
    shown += teamShown;
  }
  const count = document.querySelector('[data-role="count"]');
  if (count) count.textContent = String(shown);
}

if (input) {
  input.addEventListener('input', apply);
}
