// Who is using the console, and every call to the API on their behalf.
// The session cookie is HttpOnly (script never sees it); the CSRF token comes from the login
// answer or /api/auth/me and is sent as X-CSRF-Token on every state-changing request.
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export class Session {
  constructor() {
    this.me = null;            // {name, role, via, csrf_token}
    this.listeners = [];
  }
  onChange(fn) { this.listeners.push(fn); }
  changed() {
    const role = this.me ? this.me.role : 'none';
    document.body.dataset.role = role;
    document.body.dataset.via = this.me ? this.me.via : 'none';
    for (const fn of this.listeners) fn(this.me);
  }
  can(role) {
    const rank = { viewer: 0, operator: 1, admin: 2 };
    return this.me != null && this.me.via !== 'local' && rank[this.me.role] >= rank[role];
  }
  async api(path, opts = {}) {
    const method = (opts.method || 'GET').toUpperCase();
    const headers = { ...(opts.headers || {}) };
    if (opts.json !== undefined) headers['Content-Type'] = 'application/json';
    if (UNSAFE.has(method) && this.me && this.me.csrf_token) headers['X-CSRF-Token'] = this.me.csrf_token;
    const r = await fetch(path, {
      method, headers, credentials: 'same-origin',
      body: opts.json !== undefined ? JSON.stringify(opts.json) : undefined,
    });
    if (r.status === 401 && this.me && this.me.via !== 'local') { this.me = null; this.changed(); }
    return r;
  }
  async getJSON(path) {
    const r = await this.api(path);
    if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
    return r.json();
  }
  // Who am I? null when the service wants a login first.
  async refresh() {
    const r = await fetch('/api/auth/me', { credentials: 'same-origin' });
    this.me = r.ok ? await r.json() : null;
    this.changed();
    return this.me;
  }
  async login(username, password) {
    const r = await fetch('/api/auth/login', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    if (!r.ok) {
      let detail = `HTTP ${r.status}`;
      try { detail = (await r.json()).detail; } catch (e) { /* not JSON */ }
      throw new Error(typeof detail === 'string' ? detail : 'check the name and password');
    }
    this.me = await r.json();
    this.changed();
    return this.me;
  }
  async logout() {
    await this.api('/api/auth/logout', { method: 'POST' });
    await this.refresh();
  }
}

// The login form: shown on demand, or as a gate when the service refuses anonymous viewers.
export class LoginForm {
  constructor(session, root) {
    this.session = session;
    this.root = root;
    this.form = root.querySelector('form');
    this.error = root.querySelector('.error');
    this.waiters = [];
    this.form.addEventListener('submit', (ev) => this.submit(ev));
    root.querySelector('[data-act=cancel]').addEventListener('click', () => this.hide());
  }
  show(gate = false) {
    this.root.classList.remove('hidden');
    this.root.dataset.gate = gate ? 'yes' : 'no';
    this.error.textContent = '';
    this.form.querySelector('input[name=username]').focus();
  }
  hide() {
    if (this.root.dataset.gate === 'yes' && !this.session.me) return;
    this.root.classList.add('hidden');
  }
  async submit(ev) {
    ev.preventDefault();
    const data = new FormData(this.form);
    try {
      await this.session.login(String(data.get('username')), String(data.get('password')));
      this.form.reset();
      this.root.classList.add('hidden');
      for (const fn of this.waiters.splice(0)) fn(this.session.me);
    } catch (err) {
      this.error.textContent = `Login refused: ${err.message}`;
    }
  }
  // Resolves once someone is logged in (or a local viewer is allowed).
  async ensure() {
    if (await this.session.refresh()) return this.session.me;
    this.show(true);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
