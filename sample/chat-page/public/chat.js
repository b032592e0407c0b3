/* global document, window, fetch */
// The chat page of the sample: plain JavaScript on top of the project's browser client.
import { RealtimeClient } from '/nest-realtime-client.js';

const $ = (id) => document.getElementById(id);

/** Per room: the messages shown and who is online (user id → username). */
const rooms = new Map();
let current;
let client;

function room(id) {
  let state = rooms.get(id);
  if (!state) {
    state = { items: [], online: new Map() };
    rooms.set(id, state);
  }
  return state;
}

function item(className, who, text, attributes = {}) {
  const li = document.createElement('li');
  li.className = className;
  for (const [name, value] of Object.entries(attributes)) li.dataset[name] = String(value);
  if (who) {
    const name = document.createElement('span');
    name.className = 'who';
    name.textContent = `${who}: `;
    li.append(name);
  }
  li.append(document.createTextNode(text));
  return li;
}

function show(roomId, li) {
  room(roomId).items.push(li);
  if (roomId === current) {
    $('messages').append(li);
    li.scrollIntoView({ block: 'end' });
  }
}

function render() {
  const list = $('rooms');
  list.replaceChildren(
    ...[...rooms.keys()].map((id) => {
      const li = document.createElement('li');
      li.textContent = id;
      li.dataset.room = id;
      if (id === current) li.className = 'current';
      li.onclick = () => select(id);
      const leaveButton = document.createElement('button');
      leaveButton.textContent = 'leave';
      leaveButton.className = 'leave';
      leaveButton.onclick = (event) => {
        event.stopPropagation();
        leave(id).catch((error) => show(id, item('notice', '', `leave failed: ${error.message}`)));
      };
      li.append(' ', leaveButton);
      return li;
    }),
  );
  $('online-room').textContent = current ?? '—';
  const state = current ? rooms.get(current) : undefined;
  $('online').replaceChildren(
    ...[...(state?.online ?? new Map()).entries()].map(([userId, username]) => {
      const li = document.createElement('li');
      li.textContent = username;
      li.dataset.userId = userId;
      li.title = 'send a private message';
      li.onclick = () => {
        $('pm-target').value = userId;
        $('pm-input').focus();
      };
      return li;
    }),
  );
  $('messages').replaceChildren(...(state?.items ?? []));
}

function select(id) {
  current = id;
  render();
}

/** Thrown when the server has no development login (404): the page then asks for a token. */
class DevLoginOffError extends Error {
  constructor() {
    super('the development login is off on this server: paste a token below');
  }
}

async function fetchToken(username) {
  const response = await fetch('/dev/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username }),
  });
  if (response.status === 404) throw new DevLoginOffError();
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(`login refused (${response.status}${body.message ? `: ${body.message}` : ''})`);
  }
  return (await response.json()).token;
}

/** Without the development login only the token form is left, with an explanation. */
function showDevLoginOff() {
  $('login').hidden = true;
  $('login-help').hidden = false;
  $('token-label').textContent = 'Paste a token';
}

function setState(state) {
  $('state').textContent = state;
  $('state').dataset.state = state;
}

/** The development login: a name, and a fresh dev token for every (re)connect. */
async function loginWithName(username) {
  // A refused login (a bad name, no dev login) is said once here; later failures of the provider
  // are retried by the client with its backoff.
  let first = await fetchToken(username);
  // A provider, not a string: every reconnect (and every refresh before expiry) gets a fresh token.
  await login(() => {
    const token = first;
    first = undefined;
    return token ?? fetchToken(username);
  }, username);
}

/**
 * A pasted token, as a string: the client reconnects with it while it is valid; when it
 * expires the server closes the connection (4001) and the page asks for a fresh one.
 */
async function loginWithToken(token) {
  try {
    await login(token, undefined);
  } catch (error) {
    if (error.name === 'AuthenticationError') {
      throw new Error(
        `the server refused this token (${error.message}): is it signed with the server's JWT_SECRET, unexpired, with a sub or user_id?`,
      );
    }
    throw error;
  }
}

async function login(token, username) {
  const url = `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/ws`;
  client = new RealtimeClient({ url, token, reconnect: { baseDelay: 250, maxDelay: 5000 } });
  window.chatApp.client = client;

  client.onEvent('connecting', () => setState(client.state));
  client.onEvent('reconnecting', () => setState('reconnecting'));
  client.onEvent('open', (event) => {
    setState('open');
    $('reconnects').textContent = String(event.reconnects);
    // Membership is restored by the client; who is online may have changed meanwhile.
    for (const id of client.joinedRooms) client.send('presence', { room_id: id });
  });
  client.onEvent('closed', (event) => {
    setState(`closed (${event.code})`);
    if (event.code === 4001) $('whoami').textContent = 'your token expired: reload the page and log in again';
  });
  client.onEvent('resume_failed', (event) =>
    show(
      event.room_id,
      item('notice', '', `could not resume ${event.room_id} (${event.reason}); messages may be missing`),
    ),
  );

  client.on('chat_message', (message, envelope) =>
    show(
      message.room_id,
      item('chat', message.username, message.content, { seq: envelope.seq ?? '', room: message.room_id }),
    ),
  );
  client.on('private_message', (message) => {
    const li = item('private', `${message.from_username} (private)`, message.content);
    if (current) show(current, li);
  });
  client.on('presence_state', (presence) => {
    const state = room(presence.room_id);
    state.online = new Map(presence.users.map((user) => [user.user_id, user.username]));
    render();
  });
  client.on('presence_diff', (diff) => {
    const state = room(diff.room_id);
    for (const user of diff.leaves) state.online.delete(user.user_id);
    for (const user of diff.joins) state.online.set(user.user_id, user.username);
    render();
  });
  client.on('error', (error) => {
    if (current) show(current, item('notice', '', `error ${error.code}: ${error.message}`));
  });

  // A refused token is reported as an `error` event, then connect() rejects because the client
  // closed: the refusal is the reason worth showing.
  let refusal;
  client.onEvent('error', (event) => {
    if (event.error?.name === 'AuthenticationError') refusal = event.error;
  });
  try {
    await client.connect();
  } catch (error) {
    throw refusal ?? error;
  }
  $('whoami').textContent = `logged in as ${client.user?.username ?? username}`;
  $('login-panel').hidden = true;
  $('chat').hidden = false;
}

async function join(id) {
  await client.join(id);
  room(id);
  select(id);
  client.send('presence', { room_id: id });
}

async function leave(id) {
  await client.leave(id);
  rooms.delete(id);
  if (current === id) current = rooms.keys().next().value;
  render();
}

window.chatApp = { client: undefined, join, leave };

let loggingIn = false;
function startLogin(attempt) {
  // One client at a time: a second submit while the first login is pending is ignored.
  if (loggingIn) return;
  loggingIn = true;
  const buttons = document.querySelectorAll('#login-panel button');
  for (const button of buttons) button.disabled = true;
  $('login-error').hidden = true;
  attempt()
    .catch((error) => {
      if (error instanceof DevLoginOffError) showDevLoginOff();
      $('whoami').textContent = 'not logged in';
      $('login-error').textContent = `login failed: ${error.message}`;
      $('login-error').hidden = false;
      // The failed attempt's client (if any) must not keep reconnecting next to the next one.
      const failed = client;
      client = window.chatApp.client = undefined;
      return failed?.disconnect();
    })
    .finally(() => {
      loggingIn = false;
      for (const button of buttons) button.disabled = false;
    });
}
$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  const username = $('username').value.trim();
  startLogin(() => loginWithName(username));
});
$('token-login').addEventListener('submit', (event) => {
  event.preventDefault();
  // Whitespace and a pasted "Bearer " prefix are not part of the token.
  const token = $('token')
    .value.trim()
    .replace(/^Bearer\s+/i, '');
  if (token) startLogin(() => loginWithToken(token));
});
// The server says whether it has the development login (data-dev-login on <body>).
if (document.body.dataset.devLogin === 'off') showDevLoginOff();
$('join').addEventListener('submit', (event) => {
  event.preventDefault();
  const id = $('room-input').value.trim();
  if (id) join(id).catch((error) => $('whoami').append(` (join failed: ${error.message})`));
});
$('send').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('message-input');
  if (!current || !input.value) return;
  const roomId = current;
  // chat() settles: a refused message (rate limited, left the room meanwhile) is said so, not lost.
  client.chat(roomId, input.value).catch((error) => show(roomId, item('error', 'not sent', error.message)));
  input.value = '';
});
$('private').addEventListener('submit', (event) => {
  event.preventDefault();
  const target = $('pm-target').value.trim();
  const content = $('pm-input').value;
  if (!target || !content) return;
  client.privateMessage(target, content);
  if (current) show(current, item('private', `to ${target}`, content));
  $('pm-input').value = '';
});
