// Compiled by `npm run lint` (tsc), never run: the README's way of typing an app's own frames
// on the client ("Client", ServerMessageMap) must type-check.
import type { RealtimeClient } from '../../lib/client/index.js';

interface NoteAdded {
  text: string;
  by: string;
}

declare module '../../lib/client/index.js' {
  interface ServerMessageMap {
    'readme.note_added': NoteAdded;
    'readme.ticker_price': { symbol: string; price: number };
  }
}

export async function typedFrames(client: RealtimeClient): Promise<string> {
  client.on('readme.note_added', (note, envelope) => {
    const text: string = note.text;
    const by: string | undefined = envelope.data?.by;
    // @ts-expect-error -- not a field of NoteAdded
    void note.missing;
    void [text, by];
  });
  client.on('readme.ticker_price', (tick) => void tick.price.toFixed(2));
  client.on('chat_message', (message) => void message.content.toUpperCase());
  const reply = await client.request<NoteAdded>('readme.note_add', { text: 'hi' });
  return reply.data?.text ?? '';
}
