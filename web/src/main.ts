import { createApi, type ApiError } from './api.js';
import { h, mount } from './dom.js';
import { LiveClient, type LiveStatus } from './live.js';
import type { Page, PageContext, PageFactory, Who } from './page.js';
import { clusterPage } from './pages/cluster.js';
import { comparePage } from './pages/compare.js';
import { deliveryPage } from './pages/delivery.js';
import { eventsPage } from './pages/events.js';
import { notFoundPage } from './pages/notfound.js';
import { datasetsPage } from './pages/datasets.js';
import { loginView } from './pages/login.js';
import { modelsPage } from './pages/models.js';
import { rolloutsPage } from './pages/rollouts.js';
import { servingPage } from './pages/serving.js';
import { sessionPage } from './pages/session.js';
import { sessionsPage } from './pages/sessions.js';

const TOKEN_KEY = 'swarmml.token';
const ROUTES: Record<string, PageFactory> = {
  sessions: sessionsPage,
  session: sessionPage,
  models: modelsPage,
  serving: servingPage,
  datasets: datasetsPage,
  cluster: clusterPage,
  events: eventsPage,
  delivery: deliveryPage,
  compare: comparePage,
  rollouts: rolloutsPage,
};
const NAV: [string, string][] = [
  ['sessions', 'Sessions'],
  ['models', 'Models'],
  ['serving', 'Serving'],
  ['rollouts', 'Rollouts'],
  ['datasets', 'Datasets'],
  ['events', 'Events'],
  ['delivery', 'Delivery'],
  ['cluster', 'Cluster'],
];

const root = document.getElementById('root') ?? document.body;
let teardown: (() => void) | undefined;

function showLogin(message?: string): void {
  teardown?.();
  teardown = undefined;
  mount(
    root,
    loginView(async (token) => {
      const who = await createApi(token).get<Who>('/whoami');
      sessionStorage.setItem(TOKEN_KEY, token);
      start(token, who);
    }, message),
  );
}

function start(token: string, who: Who): void {
  const onUnauthorized = (err: ApiError) => {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin(`Your session ended: ${err.message}. Log in again.`);
  };
  const api = createApi(token, onUnauthorized);
  const status = h(
    'span',
    { class: 'live-status', role: 'status', 'data-status': 'connecting' },
    'connecting',
  );
  const setStatus = (s: LiveStatus) => {
    status.textContent = s === 'live' ? 'live' : s;
    status.setAttribute('data-status', s);
  };
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const live = new LiveClient(
    `${proto}//${location.host}/api/v1/ws?token=${encodeURIComponent(token)}`,
    setStatus,
  );
  const rank = { viewer: 0, client: 1, operator: 2, admin: 3 } as const;
  const ctx: PageContext = {
    api,
    live,
    who,
    can: (perm) => rank[who.role] >= (perm === 'admin' ? 3 : 2),
  };
  // Tests reach the live client to drop its socket and check that the page resumes.
  (window as unknown as { swarmml?: unknown }).swarmml = { live };

  const links = NAV.map(([route, label]) =>
    h('a', { href: `#/${route}`, 'data-route': route }, label),
  );
  const nav = h('nav', { 'aria-label': 'Pages', id: 'nav-pages' }, links);
  // Narrow screens fold the nav behind a menu button (CSS shows the button below 640 px).
  const menu = h(
    'button',
    { type: 'button', class: 'menu', 'aria-controls': 'nav-pages', 'aria-expanded': 'false' },
    'Menu',
  );
  menu.addEventListener('click', () =>
    menu.setAttribute('aria-expanded', String(menu.getAttribute('aria-expanded') !== 'true')),
  );
  const logout = h('button', { type: 'button', class: 'link' }, 'Log out');
  logout.addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin();
  });
  const main = h('main', { id: 'main', tabindex: -1 });
  mount(
    root,
    h(
      'a',
      {
        class: 'skip',
        href: '#main',
        onclick: ((e: Event) => {
          e.preventDefault();
          main.focus();
        }) as EventListener,
      },
      'Skip to content',
    ),
    h(
      'header',
      { class: 'top' },
      h('span', { class: 'brand' }, 'swarmml'),
      menu,
      nav,
      h('span', { class: 'who' }, `${who.name} · ${who.role}`),
      status,
      logout,
    ),
    main,
  );

  let page: Page | undefined;
  const route = () => {
    const raw = location.hash.replace(/^#\/?/, '');
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    const [name = 'sessions', ...params] = path.split('/').map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
    // An empty hash is the home page; anything else unknown is a 404 page, not Sessions.
    const factory = name === '' ? sessionsPage : ROUTES[name];
    page?.dispose();
    page = factory ? factory(ctx, params.filter(Boolean), query) : notFoundPage(path);
    mount(main, page.el);
    menu.setAttribute('aria-expanded', 'false');
    const active = name === 'session' || name === 'compare' || name === '' ? 'sessions' : name;
    for (const a of links)
      a.setAttribute('aria-current', a.getAttribute('data-route') === active ? 'page' : 'false');
    document.title = `${name || 'sessions'} · swarmml`;
  };
  window.addEventListener('hashchange', route);
  route();
  teardown = () => {
    window.removeEventListener('hashchange', route);
    page?.dispose();
    live.close();
  };
}

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) {
  createApi(saved)
    .get<Who>('/whoami')
    .then((who) => start(saved, who))
    .catch((err: ApiError) => {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin(
        err.status === 401 ? `The saved token was not accepted: ${err.message}.` : err.message,
      );
    });
} else {
  showLogin();
}
