/*! audioby player · GPL-3.0-or-later · no dependencies, no cookies, no storage.
 * <script src="https://AUDIOBY_HOST/player.js" async></script>
 * <audioby-player article="ID"></audioby-player>   or   <div data-audioby-article="ID"></div>
 * Attributes: article, api (server base URL; default: where this script came from), voice,
 * format ("opus" | "mp3": force one, for the live stream too), no-live (wait for the finished file
 * instead of playing the audio as it is made), highlight (opt-in; value = CSS selector of the article
 * text, default the nearest <article> or <body>), events (opt-in: POST events to /v1/events, with
 * how far each listen got: a random listen ID per load, kept in memory only),
 * label (idle text, default "Listen"), theme ("light" | "dark"; default follows the system),
 * sticky (opt-in: a mini-player docked at the bottom of the viewport while the inline one is out of
 * view; "always" also before the first play), download (opt-in: a link to the MP3 rendition).
 * Articles with headings get a chapter list; Media Session previous/next track jump between chapters. */
(() => {
  'use strict';
  if (window.customElements && customElements.get('audioby-player')) return;
  const SCRIPT = document.currentScript;
  const DEFAULT_API = SCRIPT && SCRIPT.src ? new URL(SCRIPT.src, location.href).origin : location.origin;
  const RATES = [0.75, 1, 1.25, 1.5, 1.75, 2];
  const SKIP = 15, ARROW = 5, HIGHLIGHT = 'audioby', MAX_POLL = 2000;
  // Live: start at once when at most this many jobs are ahead; side-channel poll in ms.
  const LIVE_MAX_AHEAD = 1, LIVE_POLL = 1000;
  // `reach` reports per listen, at most (a tenth of the article each, the end, leaving the page).
  const REACH_MAX = 16;
  const reduced = () => matchMedia('(prefers-reduced-motion: reduce)').matches;
  // Media Session handlers are page-wide: the player that played last owns them. At most one
  // player's mini-player is docked at a time.
  let sessionOwner = null, docked = null;

  const fmt = (s) => {
    s = Math.max(0, Math.floor(s || 0));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = String(s % 60).padStart(2, '0');
    return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
  };
  const spoken = (s) => {
    s = Math.max(0, Math.round(s || 0));
    const m = Math.floor(s / 60), sec = s % 60;
    return (m ? `${m} minute${m === 1 ? '' : 's'} ` : '') + `${sec} second${sec === 1 ? '' : 's'}`;
  };
  // One character in, one character out, so offsets into the folded text stay valid.
  const fold = (c) => /\s/.test(c) ? ' ' : /[‘’‛′]/.test(c) ? "'" : /[“”„″]/.test(c) ? '"' : /[‐‑‒–—]/.test(c) ? '-' : c.toLowerCase();
  const foldStr = (s) => {
    let out = '';
    for (const c of s) { const f = fold(c); if (!(f === ' ' && (out === '' || out.endsWith(' ')))) out += f; }
    return out.trim();
  };

  const CSS_TEXT = `
:host{--_bg:var(--audioby-bg,#f4f5f7);--_fg:var(--audioby-fg,#16181d);--_muted:var(--audioby-muted,#5b6270);
--_accent:var(--audioby-accent,#1b5fd6);--_on:var(--audioby-on-accent,#fff);--_track:var(--audioby-track,#d5d9e0);
--_focus:var(--audioby-focus,#f0a500);--_err:var(--audioby-error,#b3261e);
display:block;height:var(--audioby-height,64px);contain:layout style;font:14px/1.3 var(--audioby-font,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif)}
:host([theme=dark]){--_bg:var(--audioby-bg,#1f232b);--_fg:var(--audioby-fg,#eef0f4);--_muted:var(--audioby-muted,#a7aebb);--_accent:var(--audioby-accent,#7aa7ff);--_on:var(--audioby-on-accent,#0b1020);--_track:var(--audioby-track,#3a404c);--_err:var(--audioby-error,#ff8a80)}
@media (prefers-color-scheme:dark){:host(:not([theme=light])){--_bg:var(--audioby-bg,#1f232b);--_fg:var(--audioby-fg,#eef0f4);--_muted:var(--audioby-muted,#a7aebb);--_accent:var(--audioby-accent,#7aa7ff);--_on:var(--audioby-on-accent,#0b1020);--_track:var(--audioby-track,#3a404c);--_err:var(--audioby-error,#ff8a80)}}
.bar{box-sizing:border-box;height:100%;display:flex;align-items:center;gap:8px;padding:0 12px;background:var(--_bg);color:var(--_fg);border-radius:var(--audioby-radius,12px);overflow:hidden}
button,select{font:inherit;color:inherit;background:none;border:0;border-radius:8px;cursor:pointer;padding:4px 6px;min-height:32px}
button:hover,select:hover{background:color-mix(in srgb,var(--_fg) 10%,transparent)}
:focus-visible{outline:3px solid var(--_focus);outline-offset:2px}
.play{flex:none;width:44px;height:44px;border-radius:50%;background:var(--_accent);color:var(--_on);display:grid;place-items:center;padding:0}
.play:hover{background:var(--_accent);filter:brightness(1.1)}
.play svg{width:22px;height:22px;fill:currentColor}
.main{flex:1;min-width:0;display:flex;flex-direction:column;gap:2px}
.label{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-weight:600}
.row{display:flex;align-items:center;gap:6px;font-size:12px;color:var(--_muted);font-variant-numeric:tabular-nums}
.seek{flex:1;min-width:40px;accent-color:var(--_accent);height:16px;margin:0}
.skip,.speed{flex:none;font-size:12px;color:var(--_muted)}
.retry{flex:none;color:var(--_accent);font-weight:600}
.err{color:var(--_err)}
.spin{width:22px;height:22px;border:3px solid color-mix(in srgb,var(--_on) 35%,transparent);border-top-color:var(--_on);border-radius:50%;animation:r 0.9s linear infinite}
@keyframes r{to{transform:rotate(1turn)}}
@media (prefers-reduced-motion:reduce){.spin{animation:none;border-color:var(--_on);border-style:dotted}*{transition:none!important}}
[hidden]{display:none!important}
.top{display:flex;align-items:center;gap:6px;height:18px}
.top .label{flex:1;min-width:0}
.chbtn{flex:none;font-size:12px;font-weight:600;color:var(--_accent);min-height:24px;margin:-3px 0;padding:0 6px}
.tool{flex:none;width:32px;padding:4px;display:grid;place-items:center;color:var(--_muted);border-radius:8px}
.tool svg{width:20px;height:20px;fill:currentColor}
a.tool:not([href]){visibility:hidden}
.chap{position:absolute;z-index:10;top:calc(100% + 4px);right:0;width:min(340px,92vw);max-height:min(50vh,360px);overflow:auto;box-sizing:border-box;background:var(--_bg);color:var(--_fg);border-radius:var(--audioby-radius,12px);box-shadow:0 6px 24px rgb(0 0 0/.25)}
.chap ol{list-style:none;margin:0;padding:4px}
.ch{display:flex;width:100%;gap:12px;justify-content:space-between;text-align:left}
.ch .at{flex:none;color:var(--_muted);font-variant-numeric:tabular-nums}
.ch[aria-current=true]{box-shadow:inset 3px 0 var(--_accent);font-weight:600}
:host([state=idle]) .row,:host([state=error]) .row,:host([state=generating]) .seekbits{visibility:hidden}
@media (max-width:360px){.skip{display:none}}`;

  // The docked mini-player: a fixed bar at the bottom of the viewport (CSS_TEXT's :host rules
  // give way to these).
  const MINI_CSS = `
:host([hidden]){display:none}
:host{position:fixed;left:0;right:0;bottom:0;z-index:2147483000;height:auto;contain:none;box-sizing:border-box;padding:0 8px max(8px,env(safe-area-inset-bottom));pointer-events:none}
.mini{pointer-events:auto;height:56px;max-width:760px;margin:0 auto;box-shadow:0 4px 24px rgb(0 0 0/.3);animation:up .2s ease-out}
@keyframes up{from{transform:translateY(100%)}}
@media (prefers-reduced-motion:reduce){.mini{animation:none}}`;
  const THEME_VARS = ['bg', 'fg', 'muted', 'accent', 'on-accent', 'track', 'focus', 'error', 'radius', 'font'].map((v) => '--audioby-' + v);

  const ICON = {
    play: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M8 5v14l11-7z"/></svg>',
    pause: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 5h4v14H6zm8 0h4v14h-4z"/></svg>',
    spin: '<span class="spin" aria-hidden="true"></span>',
    download: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M11 3h2v10.2l3.3-3.3 1.4 1.4-5.7 5.7-5.7-5.7 1.4-1.4 3.3 3.3zM5 19h14v2H5z"/></svg>',
    close: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6.4 5 5 6.4l5.6 5.6L5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z"/></svg>',
  };

  class AudiobyPlayer extends HTMLElement {
    static get observedAttributes() { return ['article', 'voice', 'format', 'sticky', 'download']; }

    constructor() {
      super();
      this._root = this.attachShadow({ mode: 'open' });
      this._root.innerHTML = `<style>${CSS_TEXT}</style>
<div class="bar" part="bar">
 <button class="play" part="play" type="button" aria-label="Play">${ICON.play}</button>
 <div class="main">
  <div class="top"><div class="label" part="label" aria-live="polite"></div>
   <button class="chbtn" part="chapters-button" type="button" aria-expanded="false" aria-controls="chapters" hidden>Chapters</button></div>
  <div class="row"><span class="seekbits cur">0:00</span>
   <input class="seek seekbits" type="range" min="0" max="0" step="0.1" value="0" aria-label="Seek">
   <span class="seekbits dur">0:00</span></div>
 </div>
 <button class="skip back" type="button" aria-label="Back ${SKIP} seconds">−${SKIP}</button>
 <button class="skip fwd" type="button" aria-label="Forward ${SKIP} seconds">+${SKIP}</button>
 <select class="speed" aria-label="Playback speed">${RATES.map((r) => `<option value="${r}"${r === 1 ? ' selected' : ''}>${r}×</option>`).join('')}</select>
 <a class="tool dl" part="download" aria-label="Download the audio (MP3)" title="Download (MP3)" hidden>${ICON.download}</a>
 <button class="retry" type="button" hidden>Retry</button>
 <audio preload="none"></audio>
</div>
<div class="chap" id="chapters" part="chapters" role="group" aria-label="Chapters" hidden><ol></ol></div>`;
      const $ = (s) => this._root.querySelector(s);
      this._el = { play: $('.play'), label: $('.label'), cur: $('.cur'), dur: $('.dur'), seek: $('.seek'), back: $('.back'), fwd: $('.fwd'), speed: $('.speed'), retry: $('.retry'), chbtn: $('.chbtn'), chap: $('.chap'), chlist: $('.chap ol'), dl: $('.dl') };
      this.audio = $('audio');
      this._info = null; this._poll = 0; this._gen = 0; this._sent = new Set(); this._segs = null; this._cur = -1;
      this._wire();
    }

    connectedCallback() {
      if (!this.hasAttribute('role')) this.setAttribute('role', 'region');
      if (!this.hasAttribute('aria-label')) this.setAttribute('aria-label', 'Listen to this article');
      if (!this._started) { this._started = true; this._reset(); }
      this._stickyStart();
    }
    disconnectedCallback() { clearTimeout(this._poll); this.audio.pause(); this._stickyStop(); }
    attributeChangedCallback(name, old, val) {
      if (!this._started || old === val) return;
      // The opt-in extras change in place; anything else is another rendition.
      if (name === 'sticky') { this._stickyStop(); this._stickyStart(); } else if (name === 'download') this._download();
      else this._reset();
    }

    get article() { return this.getAttribute('article') || ''; }
    get api() { return (this.getAttribute('api') || DEFAULT_API).replace(/\/$/, ''); }
    get state() { return this.getAttribute('state') || 'idle'; }
    get format() {
      const f = this.getAttribute('format');
      if (f === 'opus' || f === 'mp3') return f;
      // Only "probably": Safari and iOS answer "maybe" for Ogg Opus and then cannot play it.
      return this.audio.canPlayType('audio/ogg; codecs=opus') === 'probably' ? 'opus' : 'mp3';
    }

    play() { return this._toggle(true); }
    pause() { this.audio.pause(); }

    // ----- state ---------------------------------------------------------------------------
    _set(state, label, opts = {}) {
      this.setAttribute('state', state);
      const e = this._el;
      e.label.textContent = label;
      e.label.classList.toggle('err', state === 'error');
      e.retry.hidden = state !== 'error';
      const playing = state === 'playing';
      e.play.innerHTML = state === 'generating' ? ICON.spin : playing ? ICON.pause : ICON.play;
      e.play.setAttribute('aria-label', state === 'generating' ? 'Generating audio' : playing ? 'Pause' : 'Play');
      e.play.disabled = state === 'error';
      const noMedia = !this._info;
      e.seek.disabled = e.back.disabled = e.fwd.disabled = noMedia;
      if (opts.busy !== undefined) this.setAttribute('aria-busy', String(opts.busy));
      this._miniSync();
    }

    _reset(wantPlay = false) {
      clearTimeout(this._poll);
      this._gen++;
      this._info = null; this._segs = null; this._sent.clear(); this._played = false;
      this._liveEnd();
      this._reachReset();
      this._clearHighlight();
      this._setChapters(null);
      this._download();
      this.audio.removeAttribute('src');
      this._set('idle', this.getAttribute('label') || 'Listen');
      if (!this.article) return this._fail('No article given to the player.', 'config');
      if (wantPlay) this._set('generating', 'Generating audio…', { busy: true });
      // A GET also queues the article, so the audio is usually ready by the first click.
      this._fetch(wantPlay);
    }

    _url() {
      const q = new URLSearchParams({ format: this.format });
      const v = this.getAttribute('voice');
      if (v) q.set('voice', v);
      return `${this.api}/v1/articles/${encodeURIComponent(this.article)}/audio?${q}`;
    }

    // wantPlay: the listener asked for audio, so show progress and play once it is ready.
    async _fetch(wantPlay, delay = 800) {
      const gen = this._gen;
      let res, body;
      try {
        res = await fetch(this._url(), { credentials: 'omit', cache: 'no-store' });
        body = await res.json().catch(() => ({}));
      } catch (err) {
        if (gen === this._gen) this._fail('Could not reach the audio server. Check your connection and try again.', 'network');
        return;
      }
      if (gen !== this._gen) return;
      if (res.status === 200 && body.status === 'ready') return this._ready(body, wantPlay);
      if (res.status === 202) {
        this._pending = true;
        if (wantPlay && this._liveOk(body)) return this._live();
        if (wantPlay) {
          const eta = Number(body.eta_seconds);
          const pos = Number(body.position);
          const label = body.status === 'queued' && pos > 0 ? `Queued · ${pos} ahead` : 'Generating audio'; // position = jobs ahead
          this._set('generating', eta > 0 ? `${label} · about ${fmt(eta)}` : `${label}…`, { busy: true });
          // Backoff: 0.8 s, growing ×1.5, at most 2 s (a status GET is cheap; a late poll is lost listening time).
          this._poll = setTimeout(() => this._fetch(true, Math.min(MAX_POLL, delay * 1.5)), delay);
        }
        return;
      }
      const msg = body && body.error && body.error.message;
      if (res.status === 404) return this._fail('This article has no audio.', 'not-found');
      if (res.status === 429 || res.status === 503) return this._fail('The audio server is busy. Please try again in a moment.', 'busy');
      this._fail(msg ? `Audio unavailable: ${msg}` : `Audio unavailable (HTTP ${res.status}).`, 'http-' + res.status);
    }

    _ready(info, wantPlay) {
      this._info = info;
      this._pending = false;
      const src = (info.formats && info.formats[this.format]) || info.url;
      const a = this.audio, abs = new URL(src, this.api + '/').href;
      if (a.src !== abs) a.src = abs;
      a.preload = wantPlay ? 'auto' : 'metadata';
      this._setDuration(Number(info.duration) || 0);
      this._set('ready', this._label(), { busy: false });
      this._download();
      // The manifest has the highlight's timing and the chapters.
      if (info.manifest_url) this._loadManifest(new URL(info.manifest_url, this.api + '/').href);
      this._reachManifest(info.manifest_url);
      if (wantPlay) this._toggle(true);
    }

    _fail(message, code) {
      clearTimeout(this._poll);
      this._set('error', message, { busy: false });
      this._emit('error', { code, message });
    }

    async _toggle(wantPlay) {
      const st = this.state;
      if (st === 'error') return;
      if (!this._info) {
        if (st !== 'generating') { this._set('generating', 'Generating audio…', { busy: true }); clearTimeout(this._poll); this._fetch(true); }
        return;
      }
      const a = this.audio;
      if (wantPlay === undefined) wantPlay = a.paused;
      if (!wantPlay) return a.pause();
      try { await a.play(); } catch (err) {
        if (err && err.name === 'NotAllowedError') this._set('paused', 'Press play to listen');
        else if (err && err.name !== 'AbortError') this._fail('This audio could not be played in your browser.', 'media');
      }
    }

    _setDuration(d) {
      if (!(d > 0) || !isFinite(d)) return;
      this._dur = d;
      this._el.seek.max = String(d);
      this._el.dur.textContent = fmt(d);
      this._miniTick();
    }

    _seek(t) {
      const a = this.audio;
      if (!this._info) return;
      if (this._liveOn) t = Math.min(t, this._liveEdge());
      const d = this._dur || a.duration || 0;
      a.currentTime = Math.max(0, Math.min(d ? d - 0.05 : t, t));
      this._tick();
    }

    _tick() {
      const a = this.audio, e = this._el, t = a.currentTime || 0;
      if (!this._dragging) e.seek.value = String(t);
      e.cur.textContent = fmt(t);
      e.seek.setAttribute('aria-valuetext', `${spoken(t)} of ${spoken(this._dur)}`);
      this._highlightAt(t);
      this._reachTick(t);
      this._chapMark(t);
      this._miniTick();
      const d = this._liveOn ? 0 : this._dur || a.duration;
      if (d > 0) for (const p of [25, 50, 75, 100]) {
        if (t / d >= p / 100 - (p === 100 ? 0.01 : 0) && !this._sent.has(p)) { this._sent.add(p); this._emit('progress', { percent: p }, p); }
      }
    }

    // ----- wiring --------------------------------------------------------------------------
    _wire() {
      const e = this._el;
      e.play.addEventListener('click', () => this._toggle());
      e.back.addEventListener('click', () => this._seek(this.audio.currentTime - SKIP));
      e.fwd.addEventListener('click', () => this._seek(this.audio.currentTime + SKIP));
      e.retry.addEventListener('click', () => { this._reset(true); this._el.play.focus(); });
      e.speed.addEventListener('change', () => { this.audio.playbackRate = Number(e.speed.value); });
      e.seek.addEventListener('input', () => { this._dragging = true; e.cur.textContent = fmt(Number(e.seek.value)); });
      e.seek.addEventListener('change', () => { this._dragging = false; this._seek(Number(e.seek.value)); });
      this._wireMedia(this.audio);
      this._root.addEventListener('keydown', (ev) => this._key(ev));
      addEventListener('pagehide', () => this._reachSend(true));
      this._wireChapters();
    }

    // Media events of one audio element; ignored once another element has taken its place.
    _wireMedia(a) {
      const e = this._el;
      const on = (type, f) => a.addEventListener(type, (ev) => { if (a === this.audio) f(ev); });
      on('play', () => {
        // A live stream may have nothing to play yet: the generating state stays until it does.
        if (!(this._liveOn && a.readyState < 3)) this._set('playing', this._label());
        this._mediaSession();
        this._emit('play', { currentTime: a.currentTime }, this._played ? null : '');
        this._played = true;
        this._raf();
      });
      on('playing', () => { if (this.state !== 'playing') this._set('playing', this._label()); });
      on('pause', () => { if (this._info && this.state !== 'error') this._set('paused', this._label()); this._tick(); });
      on('ended', () => { this._tick(); this._set('paused', this._label()); });
      on('timeupdate', () => this._tick());
      on('loadedmetadata', () => this._setDuration(a.duration));
      on('ratechange', () => {
        e.speed.value = String(a.playbackRate);
        this._emit('ratechange', { rate: a.playbackRate }, a.playbackRate);
      });
      on('error', () => { if (this._info) this._fail('The audio file could not be loaded.', 'media'); });
    }

    _label() { return `${this.getAttribute('label') || 'Listen'} · ${Math.max(1, Math.round((this._dur || 0) / 60))} min`; }

    // While playing, follow the audio each frame so the highlight changes on time (timeupdate is ~4 Hz).
    _raf() {
      if (this._rafOn) return;
      this._rafOn = true;
      const step = () => {
        if (this.audio.paused) { this._rafOn = false; return; }
        this._tick();
        requestAnimationFrame(step);
      };
      requestAnimationFrame(step);
    }

    _key(ev) {
      const tag = ev.composedPath()[0].tagName;
      if (ev.key === ' ' || ev.key === 'Spacebar' || ev.key === 'k') {
        if (tag === 'BUTTON' || tag === 'SELECT') return; // native activation
        ev.preventDefault();
        this._toggle();
      } else if (ev.key === 'ArrowLeft' || ev.key === 'ArrowRight') {
        if (tag === 'SELECT') return;
        ev.preventDefault();
        this._seek(this.audio.currentTime + (ev.key === 'ArrowLeft' ? -ARROW : ARROW));
      }
    }

    _mediaSession() {
      const ms = navigator.mediaSession;
      if (!ms) return;
      try {
        const title = (document.querySelector('h1') || {}).textContent || document.title;
        if (window.MediaMetadata) ms.metadata = new MediaMetadata({ title: (title || '').trim(), artist: location.hostname, album: 'Listen to this article' });
        const a = this.audio;
        const h = {
          play: () => this._toggle(true), pause: () => a.pause(), stop: () => a.pause(),
          seekbackward: (d) => this._seek(a.currentTime - ((d && d.seekOffset) || SKIP)),
          seekforward: (d) => this._seek(a.currentTime + ((d && d.seekOffset) || SKIP)),
          seekto: (d) => this._seek(d.seekTime),
        };
        for (const k in h) { try { ms.setActionHandler(k, h[k]); } catch (_) { /* action not supported */ } }
        sessionOwner = this;
        this._chapterHandlers();
      } catch (_) { /* Media Session is optional */ }
    }

    // ----- live rendition ------------------------------------------------------------------
    // An article that is not ready plays as it is made (GET …/audio/live streams the segments in
    // reading order); …/audio/live/manifest gives the timing of what exists (highlighting, the
    // seek limit) and says when the finished file is published. The player then moves to that
    // file at the same position: preloaded in a second <audio>, seeked, swapped in on canplay.
    _liveOk(body) {
      // A long queue keeps the generating state, with the wait shown, until the job is near.
      return !this.hasAttribute('no-live') && Number(body.position) <= LIVE_MAX_AHEAD;
    }

    _liveBase() {
      const q = new URLSearchParams();
      const v = this.getAttribute('voice');
      if (v) q.set('voice', v);
      return [`${this.api}/v1/articles/${encodeURIComponent(this.article)}/audio/live`, q];
    }

    _live() {
      const [url, q] = this._liveBase();
      q.set('format', this.format);
      this._liveOn = true;
      this._liveAvail = 0;
      this._info = { live: true };
      const a = this.audio;
      a.preload = 'auto';
      a.src = `${url}?${q}`;
      this._set('generating', 'Generating audio…', { busy: true });
      this._livePoll(this._gen);
      this._toggle(true);
    }

    async _livePoll(gen) {
      if (gen !== this._gen || !this._liveOn) return;
      const [url, q] = this._liveBase();
      let m = null;
      try {
        const res = await fetch(`${url}/manifest?${q}`, { credentials: 'omit', cache: 'no-store' });
        if (res.ok) m = await res.json();
      } catch (_) { /* the next poll may get through */ }
      if (gen !== this._gen || !this._liveOn) return;
      if (m) {
        if (m.status === 'failed' || m.status === 'cancelled') {
          this._liveEnd();
          this.audio.pause();
          return this._fail(m.error ? `The audio could not be made: ${m.error}` : 'The audio could not be made.', 'job-' + m.status);
        }
        this._liveAvail = Number(m.available_seconds) || 0;
        const segs = (m.segments || []).slice().sort((x, y) => x.start - y.start);
        if (segs.length && this.hasAttribute('highlight') && (!this._segs || this._segs.length !== segs.length)) {
          this._segs = this._mapSegments(segs);
        }
        if (!(this._dur >= this._liveAvail)) this._setDuration(this._liveAvail);
        if (m.status === 'ready' && m.formats) return this._liveSwitch(m);
      }
      this._poll = setTimeout(() => this._livePoll(gen), LIVE_POLL);
    }

    // How far a listener may seek: what has been made and what the element holds.
    _liveEdge() {
      const b = this.audio.buffered;
      const held = b && b.length ? b.end(b.length - 1) : 0;
      return Math.max(0, Math.min(this._liveAvail || 0, held) - 0.25);
    }

    _liveSwitch(m) {
      const gen = this._gen;
      const src = new URL(m.formats[this.format] || Object.values(m.formats)[0], this.api + '/').href;
      const next = document.createElement('audio');
      next.preload = 'auto';
      this._wireMedia(next);
      const swap = () => {
        if (gen !== this._gen || !this._liveOn) return;
        const old = this.audio, playing = !old.paused, from = old.currentTime;
        next.playbackRate = old.playbackRate;
        next.currentTime = from;
        this._liveOn = false;
        this.audio = next;
        old.replaceWith(next);
        old.pause();
        old.removeAttribute('src');
        old.load(); // closes the live stream (the job is done)
        this._info = { status: 'ready', formats: m.formats, manifest_url: m.manifest_url, duration: next.duration };
        this._setDuration(next.duration);
        this._download();
        for (const [type, detail, value] of this._held || []) this._beacon(type, detail, value);
        this._held = null;
        if (playing) next.play().catch(() => {});
        else this._set('paused', this._label());
        if (m.manifest_url) this._loadManifest(new URL(m.manifest_url, this.api + '/').href);
        this._reachManifest(m.manifest_url);
        this.dispatchEvent(new CustomEvent('final', { detail: { src, from, to: next.currentTime } }));
      };
      // Seek the new element close to where the live one is, then swap once it can play there.
      next.addEventListener('loadedmetadata', () => {
        next.currentTime = this.audio.currentTime;
        next.addEventListener('canplay', swap, { once: true });
      }, { once: true });
      next.src = src;
    }

    _liveEnd() {
      this._liveOn = false;
      this._held = null; // never published: nothing to count
    }

    // ----- chapters ------------------------------------------------------------------------
    // From the manifest's `chapters` (the article's headings): a list behind the "Chapters"
    // button (click or Enter seeks there and plays; the current one is marked), and Media
    // Session previous/next track (headset and lock-screen buttons) jump between them.
    get chapters() { return (this._chapters || []).map((c) => ({ ...c })); }

    /** Play from the start of chapter `i`. */
    chapter(i) {
      const c = this._chapters && this._chapters[i];
      if (!c || !this._info) return;
      this._seek(c.start);
      this._toggle(true);
    }

    nextChapter() {
      const i = this._chapAt(this.audio.currentTime || 0);
      if (this._chapters && i + 1 < this._chapters.length) this.chapter(i + 1);
    }

    /** To the previous chapter, or back to the start of this one after its first 3 s (as a CD player). */
    previousChapter() {
      const t = this.audio.currentTime || 0, i = this._chapAt(t);
      if (i >= 0) this.chapter(i > 0 && t - this._chapters[i].start < 3 ? i - 1 : i);
    }

    _chapAt(t) {
      const ch = this._chapters || [];
      let i = -1;
      while (i + 1 < ch.length && ch[i + 1].start <= t + 0.05) i++;
      return i;
    }

    _setChapters(list) {
      const ch = (Array.isArray(list) ? list : [])
        .map((c) => ({ title: String((c && c.title) || '').trim(), start: Number(c && c.start) }))
        .filter((c) => c.title && c.start >= 0)
        .sort((x, y) => x.start - y.start);
      this._chapters = ch.length ? ch : null;
      this._chap = -1;
      const e = this._el;
      e.chlist.textContent = '';
      ch.forEach((c, i) => {
        const li = document.createElement('li'), b = document.createElement('button'), t = document.createElement('span'), at = document.createElement('span');
        b.type = 'button';
        b.className = 'ch';
        t.textContent = c.title;
        at.className = 'at';
        at.textContent = fmt(c.start);
        b.setAttribute('aria-label', `Chapter ${i + 1} of ${ch.length}: ${c.title}, at ${spoken(c.start)}`);
        b.addEventListener('click', () => { this.chapter(i); this._chapOpen(false, true); });
        b.append(t, at);
        li.append(b);
        e.chlist.append(li);
      });
      e.chbtn.hidden = !this._chapters;
      if (!this._chapters) this._chapOpen(false);
      this._chapMark(this.audio.currentTime || 0);
      if (sessionOwner === this) this._chapterHandlers();
    }

    // Marks the chapter playing at `t` (aria-current) and dispatches `chapter` when it changes.
    _chapMark(t) {
      if (!this._chapters) return;
      const i = this._chapAt(t);
      if (i === this._chap) return;
      this._chap = i;
      const c = this._chapters[i];
      this._el.chlist.querySelectorAll('.ch').forEach((b, k) => b.setAttribute('aria-current', String(k === i)));
      this._el.chbtn.title = c ? `Chapter ${i + 1}: ${c.title}` : 'Chapters';
      this._miniSync();
      if (c) this.dispatchEvent(new CustomEvent('chapter', { detail: { index: i, title: c.title, start: c.start } }));
    }

    _chapOpen(open, focusButton) {
      const e = this._el;
      if (open === undefined) open = e.chap.hidden;
      if (open && !this._chapters) return;
      e.chap.hidden = !open;
      e.chbtn.setAttribute('aria-expanded', String(open));
      if (open) (e.chlist.querySelectorAll('.ch')[Math.max(0, this._chap)] || e.chbtn).focus();
      else if (focusButton) e.chbtn.focus();
    }

    _wireChapters() {
      const e = this._el;
      e.chbtn.addEventListener('click', () => this._chapOpen());
      e.chap.addEventListener('keydown', (ev) => {
        const items = [...e.chlist.querySelectorAll('.ch')], at = items.indexOf(ev.composedPath()[0]);
        const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 }[ev.key];
        if (ev.key === 'Escape') { ev.preventDefault(); this._chapOpen(false, true); } else if (to !== undefined && items.length) {
          ev.preventDefault();
          items[(to + items.length) % items.length].focus();
        }
      });
      // A click anywhere else closes the list.
      document.addEventListener('pointerdown', (ev) => { if (!e.chap.hidden && !ev.composedPath().includes(this)) this._chapOpen(false); }, true);
    }

    _chapterHandlers() {
      const ms = navigator.mediaSession;
      if (!ms) return;
      const on = !!this._chapters;
      for (const [k, f] of [['previoustrack', () => this.previousChapter()], ['nexttrack', () => this.nextChapter()]]) {
        try { ms.setActionHandler(k, on ? f : null); } catch (_) { /* action not supported */ }
      }
    }

    // ----- download ------------------------------------------------------------------------
    // With the `download` attribute: a link to the MP3 rendition. Its place is kept from the
    // start (invisible until the file exists), so nothing moves when it appears.
    _download() {
      const a = this._el.dl, f = this._info && this._info.formats;
      a.hidden = !this.hasAttribute('download');
      const mp3 = !a.hidden && !this._liveOn && f && f.mp3;
      if (!mp3) return void a.removeAttribute('href');
      // `download` is honoured on the page's own origin only; `?download=` makes the server
      // send the file as an attachment, so an embedded player's link saves it too.
      const name = `${this.article.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\./, '_').slice(0, 96) || 'audio'}.mp3`;
      const u = new URL(mp3, this.api + '/');
      u.searchParams.set('download', name);
      a.href = u.href;
      a.setAttribute('download', name);
    }

    // ----- sticky mini-player --------------------------------------------------------------
    // With the `sticky` attribute: once the listener has pressed play (or at once with
    // sticky="always", after the player has scrolled up out of view), a mini-player docks at the
    // bottom of the viewport while the inline player is out of view. It is a fixed overlay in a
    // shadow root of its own under <body> (so no page ancestor's transform or containment moves
    // it, and nothing in the page's layout shifts); its close button keeps it away for the rest
    // of the page view.
    _stickyStart() {
      if (!this.hasAttribute('sticky') || this._io || !window.IntersectionObserver) return;
      this._io = new IntersectionObserver((entries) => {
        const en = entries[entries.length - 1];
        this._away = !en.isIntersecting;
        this._above = en.boundingClientRect.bottom <= (en.rootBounds ? en.rootBounds.top : 0);
        this._miniSync();
      });
      this._io.observe(this);
    }

    _stickyStop() {
      if (this._io) this._io.disconnect();
      this._io = null;
      if (this._mini) this._mini.host.remove();
      this._mini = null;
      if (docked === this) docked = null;
    }

    _miniWanted() {
      if (!this._io || this._miniGone || !this._away || !this._info || this.state === 'error') return false;
      return this._played || this.state === 'playing' || (this.getAttribute('sticky') === 'always' && this._above);
    }

    _miniSync() {
      if (!this._io) return;
      let show = this._miniWanted();
      // One docked player at a time: the one being listened to takes the place.
      if (show && docked && docked !== this) {
        if (this.state === 'playing') docked._miniShow(false);
        else show = false;
      }
      this._miniShow(show);
    }

    _miniShow(show) {
      if (show && !this._mini) this._miniBuild();
      const m = this._mini;
      if (!m) return;
      if (!show) {
        if (!m.host.hidden && m.root.activeElement) this._el.play.focus({ preventScroll: true });
        m.host.hidden = true;
        if (docked === this) docked = null;
        return;
      }
      docked = this;
      m.host.hidden = false;
      for (const a of ['state', 'theme']) { const v = this.getAttribute(a); if (v) m.host.setAttribute(a, v); else m.host.removeAttribute(a); }
      const playing = this.state === 'playing', gen = this.state === 'generating';
      m.play.innerHTML = gen ? ICON.spin : playing ? ICON.pause : ICON.play;
      m.play.setAttribute('aria-label', gen ? 'Generating audio' : playing ? 'Pause' : 'Play');
      const title = ((document.querySelector('h1') || {}).textContent || document.title || '').trim();
      const c = this._chapters && this._chapters[this._chap];
      m.label.textContent = c && c.title !== title ? `${c.title} · ${title}` : title || this._label();
      this._miniTick();
    }

    _miniTick() {
      const m = this._mini;
      if (!m || m.host.hidden) return;
      const t = this.audio.currentTime || 0, d = this._dur || 0;
      m.seek.max = String(d);
      if (!m.dragging) m.seek.value = String(t);
      m.seek.setAttribute('aria-valuetext', `${spoken(t)} of ${spoken(d)}`);
      m.cur.textContent = fmt(t);
      m.dur.textContent = fmt(d);
    }

    _miniBuild() {
      const host = document.createElement('div');
      host.setAttribute('data-audioby-mini', '');
      host.hidden = true;
      const root = host.attachShadow({ mode: 'open' });
      root.innerHTML = `<style>${CSS_TEXT}${MINI_CSS}</style>
<div class="bar mini" part="mini" role="region" aria-label="Audio player, docked">
 <button class="play" type="button" aria-label="Play">${ICON.play}</button>
 <div class="main">
  <div class="label"></div>
  <div class="row"><span class="cur">0:00</span>
   <input class="seek" type="range" min="0" max="0" step="0.1" value="0" aria-label="Seek">
   <span class="dur">0:00</span></div>
 </div>
 <button class="tool close" type="button" aria-label="Close the docked player" title="Close">${ICON.close}</button>
</div>`;
      const $ = (s) => root.querySelector(s);
      const m = { host, root, play: $('.play'), label: $('.label'), seek: $('.seek'), cur: $('.cur'), dur: $('.dur') };
      // The inline player's own publisher styles reach the docked one too.
      const cs = getComputedStyle(this);
      for (const v of THEME_VARS) { const x = cs.getPropertyValue(v); if (x) host.style.setProperty(v, x); }
      m.play.addEventListener('click', () => this._toggle());
      m.seek.addEventListener('input', () => { m.dragging = true; m.cur.textContent = fmt(Number(m.seek.value)); });
      m.seek.addEventListener('change', () => { m.dragging = false; this._seek(Number(m.seek.value)); });
      $('.close').addEventListener('click', () => { this._miniGone = true; this._miniShow(false); });
      root.addEventListener('keydown', (ev) => this._key(ev));
      this._mini = m;
      document.body.append(host);
    }

    // ----- events --------------------------------------------------------------------------
    // DOM CustomEvents on the element (not bubbling: "error" must not reach window.onerror);
    // with the `events` attribute also POSTed to /v1/events (beacon: no preflight, no cookies).
    _emit(type, detail, value) {
      this.dispatchEvent(new CustomEvent(type, { detail: Object.assign({ article: this.article }, detail) }));
      if (!this.hasAttribute('events') || value === null || !this.article) return;
      // The server counts events of published audio only: a live listen's wait for the final file.
      if (this._liveOn) return void (this._held || (this._held = [])).push([type, detail, value]);
      this._beacon(type, detail, value);
    }

    _beacon(type, detail, value) {
      const body = { article: this.article, event: type };
      if (type === 'progress' || type === 'ratechange') body.value = value;
      if (type === 'error') body.value = String(detail.code || '');
      this._post(body);
    }

    _post(body) {
      const url = `${this.api}/v1/events`, data = JSON.stringify(body);
      try {
        if (!(navigator.sendBeacon && navigator.sendBeacon(url, data))) fetch(url, { method: 'POST', body: data, keepalive: true, credentials: 'omit' }).catch(() => {});
      } catch (_) { /* analytics never break playback */ }
    }

    // ----- listen analytics: how far a listen got -----------------------------------------
    // With `events`: a random listen ID per load of an article (in memory only, never stored)
    // and a `reach` event carrying the furthest sentence of the published manifest reached so
    // far: on entering a new tenth of the article, at its last sentence, and on pagehide
    // (sendBeacon). At most REACH_MAX per listen. A live listen reports once the file is final.
    _reachReset() {
      const b = new Uint8Array(12);
      if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(b);
      else for (let i = 0; i < b.length; i++) b[i] = Math.floor(Math.random() * 256);
      this._listen = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
      this._reachAt = null; this._reachFar = -1; this._reachSent = -1; this._reachN = 0;
    }

    async _reachManifest(url) {
      if (!this.hasAttribute('events') || !url || this._reachAt) return;
      const gen = this._gen;
      try {
        const res = await fetch(new URL(url, this.api + '/').href, { credentials: 'omit' });
        const m = res.ok ? await res.json() : null;
        if (gen !== this._gen || !m) return;
        this._reachAt = (m.segments || []).map((s) => Number(s.start) || 0).sort((x, y) => x - y);
        this._reachSend(false);
      } catch (_) { /* analytics never break playback */ }
    }

    _reachTick(t) {
      if (this._played && t > this._reachFar) { this._reachFar = t; this._reachSend(false); }
    }

    _reachSend(leaving) {
      const at = this._reachAt, n = at ? at.length : 0, sent = this._reachSent;
      if (!n || this._liveOn || this._reachFar < 0 || this._reachN >= REACH_MAX || !this.article || !this.hasAttribute('events')) return;
      let lo = 0, hi = n - 1, i = 0;
      while (lo <= hi) { const mid = (lo + hi) >> 1; if (at[mid] <= this._reachFar + 0.02) { i = mid; lo = mid + 1; } else hi = mid - 1; }
      if (i <= sent) return;
      if (!leaving && sent >= 0 && i < n - 1 && Math.floor((i * 10) / n) === Math.floor((sent * 10) / n)) return;
      this._reachSent = i;
      this._reachN++;
      this._post({ article: this.article, event: 'reach', value: i, listen: this._listen });
    }

    // ----- highlighting --------------------------------------------------------------------
    async _loadManifest(url) {
      const gen = this._gen;
      try {
        const res = await fetch(url, { credentials: 'omit' });
        if (!res.ok) return;
        const m = await res.json();
        if (gen !== this._gen) return;
        this._setChapters(m.chapters);
        if (!this.hasAttribute('highlight')) return;
        this._segs = this._mapSegments((m.segments || []).slice().sort((x, y) => x.start - y.start));
        this._highlightAt(this.audio.currentTime || 0);
      } catch (_) { /* highlighting and chapters are extras */ }
    }

    _scope() {
      const sel = this.getAttribute('highlight');
      return (sel && document.querySelector(sel)) || this.closest('article') || document.querySelector('article') || document.body;
    }

    // Blocks map to elements by `data-audioby-block="N"` when the page marks them (checked
    // against the text), otherwise by finding each block's first sentence in reading order.
    _mapSegments(segs) {
      const scope = this._scope();
      const marked = new Map();
      scope.querySelectorAll('[data-audioby-block]').forEach((el) => marked.set(Number(el.dataset.audiobyBlock), el));
      const cands = [...scope.querySelectorAll('h1,h2,h3,h4,h5,h6,p,li,blockquote,[data-audioby-block]')]
        .filter((el) => !el.closest('audioby-player,[data-audioby-article]'));
      const blockEl = new Map();
      let cursor = 0;
      const texts = new Map();
      const textOf = (el) => { if (!texts.has(el)) texts.set(el, indexText(el)); return texts.get(el); };
      for (const s of segs) {
        if (blockEl.has(s.block)) continue;
        const needle = foldStr(s.text || '');
        let el = marked.get(s.block);
        if (el && needle && !textOf(el).str.includes(needle.slice(0, 24))) el = null;
        if (!el && needle) {
          for (let i = cursor; i < cands.length; i++) if (textOf(cands[i]).str.includes(needle.slice(0, 24))) { el = cands[i]; cursor = i + 1; break; }
        }
        blockEl.set(s.block, el || null);
      }
      const out = [];
      const cursors = new Map();
      for (const s of segs) {
        const el = blockEl.get(s.block);
        let range = null;
        if (el) {
          const idx = textOf(el);
          const needle = foldStr(s.text || '');
          let at = needle ? idx.str.indexOf(needle, cursors.get(el) || 0) : -1;
          let len = needle.length;
          if (at < 0 && needle) { at = idx.str.indexOf(needle.slice(0, 24), cursors.get(el) || 0); len = Math.min(needle.length, idx.str.length - at); }
          if (at >= 0) { range = idx.range(at, at + len); cursors.set(el, at + len); }
          if (!el.hasAttribute('data-audioby-seekable')) {
            el.setAttribute('data-audioby-seekable', '');
            el.addEventListener('click', (ev) => {
              if (ev.target.closest('a,button,input,select,textarea') || String(getSelection())) return;
              const first = this._segs && this._segs.find((x) => x.el === el);
              if (first) { this._seek(first.start); this._toggle(true); }
            });
          }
        }
        out.push({ start: Number(s.start) || 0, end: (Number(s.start) || 0) + (Number(s.duration) || 0), text: s.text, el, range });
      }
      ensureDocStyle();
      return out;
    }

    _highlightAt(t) {
      const segs = this._segs;
      if (!segs || !segs.length || !this._played) return;
      let lo = 0, hi = segs.length - 1, i = -1;
      while (lo <= hi) { const mid = (lo + hi) >> 1; if (segs[mid].start <= t + 0.02) { i = mid; lo = mid + 1; } else hi = mid - 1; }
      if (i === this._cur) return;
      this._cur = i;
      // Follow the reading with the scroll only while the listener is following along.
      const prev = this._readingEl, pr = prev && prev.getBoundingClientRect();
      const following = !prev || (pr.bottom > 0 && pr.top < innerHeight);
      this._clearHighlight(true);
      const s = segs[i];
      if (!s) return;
      if (s.el) {
        s.el.setAttribute('data-audioby-reading', '');
        this._readingEl = s.el;
        const r = s.el.getBoundingClientRect();
        if (following && !this.audio.paused && (r.top < 0 || r.bottom > innerHeight)) s.el.scrollIntoView({ block: 'center', behavior: reduced() ? 'auto' : 'smooth' });
      }
      if (s.range && window.CSS && CSS.highlights && window.Highlight) CSS.highlights.set(HIGHLIGHT, new Highlight(s.range));
      this.dispatchEvent(new CustomEvent('segment', { detail: { index: i, text: s.text } }));
    }

    _clearHighlight(keepIndex) {
      if (!keepIndex) this._cur = -1;
      if (this._readingEl) { this._readingEl.removeAttribute('data-audioby-reading'); this._readingEl = null; }
      if (window.CSS && CSS.highlights) CSS.highlights.delete(HIGHLIGHT);
    }
  }

  // The element's text nodes, folded into one string with a map back to (node, offset).
  function indexText(el) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let str = '';
    const map = [];
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const v = n.nodeValue;
      for (let k = 0; k < v.length; k++) {
        const f = fold(v[k]);
        if (f === ' ' && (str === '' || str.endsWith(' '))) continue;
        str += f;
        map.push([n, k]);
      }
    }
    return {
      str,
      range(a, b) {
        if (!map.length) return null;
        const r = document.createRange();
        const s = map[Math.min(a, map.length - 1)], e = map[Math.max(0, Math.min(b, map.length) - 1)];
        r.setStart(s[0], s[1]);
        r.setEnd(e[0], e[1] + 1);
        return r;
      },
    };
  }

  // Page-level styles the shadow DOM cannot reach: the sentence highlight and seekable blocks.
  function ensureDocStyle() {
    if (document.getElementById('audioby-page-style')) return;
    const st = document.createElement('style');
    st.id = 'audioby-page-style';
    st.textContent = `::highlight(${HIGHLIGHT}){background:var(--audioby-highlight,#ffe58a);color:var(--audioby-highlight-fg,inherit)}
[data-audioby-seekable]{cursor:pointer}[data-audioby-reading]{background:var(--audioby-reading,transparent)}`;
    document.head.appendChild(st);
  }

  customElements.define('audioby-player', AudiobyPlayer);

  // The data-attribute form, for CMSs that strip unknown tags: <div data-audioby-article="ID"
  // data-audioby-highlight data-audioby-format="mp3">. Other data-audioby-* become attributes.
  function upgrade(root) {
    root.querySelectorAll('[data-audioby-article]:not([data-audioby-ready])').forEach((host) => {
      host.setAttribute('data-audioby-ready', '');
      const p = document.createElement('audioby-player');
      for (const { name, value } of [...host.attributes]) {
        const m = /^data-audioby-(.+)$/.exec(name);
        if (m && m[1] !== 'ready') p.setAttribute(m[1], value);
      }
      host.appendChild(p);
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => upgrade(document));
  else upgrade(document);
})();
