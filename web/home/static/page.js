// The stand-alone agenda page: reads its config block and mounts the
// agenda over /agenda/ws.
import { mountPage } from './agenda.js';

const cfgEl = document.getElementById('agenda-config');
const root = document.querySelector('[data-role="agenda"]');
if (cfgEl && root) {
  const cfg = JSON.parse(cfgEl.textContent);
  window.agendaView = mountPage(cfg, root);
}
