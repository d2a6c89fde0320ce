// The OpenAI-compatible API, tried with the official `openai` npm client against a real hostd
// serving the Llama plugin on a generated tiny model with the real Llama 3 tokenizer.
//
// Run by ctest (openai.client) with these environment variables:
//   MODELHOST_HOSTD             path of the hostd binary
//   MODELHOST_PLUGIN_DIR        folder holding libmh_llama.so
//   MODELHOST_LLAMA_CHECKPOINT  path of the llama_checkpoint tool
//   MODELHOST_TOKENIZER_DIR     folder holding the Llama 3 tokenizer.json
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run through ctest)`);
  return value;
};

const MODEL = 'tiny-llama';
const work = mkdtempSync(join(tmpdir(), 'mh-openai-'));
const servers = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForReady(base, deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${base}/v2/models/${MODEL}/ready`);
      if (response.status === 200) return;
      last = `status ${response.status}`;
    } catch (error) {
      last = error.message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`hostd did not get ${MODEL} ready within ${deadlineMs} ms (${last})`);
}

// Starts hostd on a free port serving the generated model; returns its base URL.
async function startHostd(name, extraArgs) {
  const port = await freePort();
  const dir = join(work, name);
  mkdirSync(join(dir, 'models', MODEL), { recursive: true });
  writeFileSync(
    join(dir, 'models', MODEL, 'model.json'),
    JSON.stringify({
      download_files_from: join(work, 'storage', MODEL),
      plugin: 'libmh_llama.so',
      config: { device: 'cpu', dtype: 'float32', max_batch: 4 },
      max_concurrency: 8,
      timeout_ms: 60000,
    }),
  );
  const child = spawn(
    env('MODELHOST_HOSTD'),
    [
      '--models-dir', join(dir, 'models'),
      '--listen', `127.0.0.1:${port}`,
      '--admin-socket', join(dir, 'admin.sock'),
      '--cache-dir', join(dir, 'cache'),
      '--plugin-dir', env('MODELHOST_PLUGIN_DIR'),
      ...extraArgs,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  servers.push(child);
  const base = `http://127.0.0.1:${port}`;
  await waitForReady(base, 60000);
  return base;
}

let open; // base URL of a hostd without an API key
let guarded; // base URL of a hostd started with --api-key

before(async () => {
  execFileSync(env('MODELHOST_LLAMA_CHECKPOINT'), [
    '--preset', 'tiny', '--vocab', '128256', '--dtype', 'f32',
    '--tokenizer-dir', env('MODELHOST_TOKENIZER_DIR'),
    '--out', join(work, 'storage', MODEL),
  ]);
  open = await startHostd('open', []);
  guarded = await startHostd('guarded', ['--api-key', 'sk-right-key']);
});

after(() => {
  for (const child of servers) child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

const client = () => new OpenAI({ baseURL: `${open}/v1`, apiKey: 'unused', maxRetries: 0 });
const messages = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Say hello to modelhost.' },
];

test('models.list shows the served model', async () => {
  const ids = [];
  for await (const model of client().models.list()) ids.push(model.id);
  assert.ok(ids.includes(MODEL), `models: ${ids.join(', ')}`);
});

test('chat.completions.create answers in OpenAI shape', async () => {
  const completion = await client().chat.completions.create({
    model: MODEL, messages, max_tokens: 12, temperature: 0,
  });
  assert.equal(completion.object, 'chat.completion');
  assert.equal(completion.model, MODEL);
  assert.match(completion.id, /\S/);
  assert.equal(typeof completion.created, 'number');
  assert.equal(completion.choices.length, 1);
  const [choice] = completion.choices;
  assert.equal(choice.message.role, 'assistant');
  assert.equal(typeof choice.message.content, 'string');
  assert.ok(['stop', 'length'].includes(choice.finish_reason), choice.finish_reason);
  assert.ok(completion.usage.prompt_tokens > 10, 'the chat template adds header tokens');
  assert.ok(completion.usage.completion_tokens >= 1);
  assert.ok(completion.usage.completion_tokens <= 12);
  assert.equal(
    completion.usage.total_tokens,
    completion.usage.prompt_tokens + completion.usage.completion_tokens,
  );
});

test('a streamed chat completion iterates to the end and equals the plain one at temperature 0', async () => {
  const request = { model: MODEL, messages, max_tokens: 16, temperature: 0 };
  const plain = await client().chat.completions.create(request);
  const stream = await client().chat.completions.create({
    ...request, stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let sawRole = false;
  let finishReason = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks += 1;
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      if (chunks === 1) assert.equal(choice.delta.role, 'assistant', 'role in the first delta');
      if (choice.delta.role) sawRole = true;
      text += choice.delta.content ?? '';
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
  }
  assert.ok(sawRole);
  assert.ok(chunks >= 2, `only ${chunks} chunks`);
  assert.equal(text, plain.choices[0].message.content);
  assert.equal(finishReason, plain.choices[0].finish_reason);
  assert.ok(usage, 'stream_options.include_usage gives a usage chunk');
  assert.equal(usage.completion_tokens, plain.usage.completion_tokens);
});

test('completions.create answers a plain prompt, streamed and not', async () => {
  const request = { model: MODEL, prompt: 'The capital of France is', max_tokens: 8, temperature: 0 };
  const completion = await client().completions.create(request);
  assert.equal(completion.object, 'text_completion');
  assert.equal(typeof completion.choices[0].text, 'string');
  assert.ok(['stop', 'length'].includes(completion.choices[0].finish_reason));
  assert.ok(completion.usage.prompt_tokens >= 5);

  let text = '';
  for await (const chunk of await client().completions.create({ ...request, stream: true })) {
    text += chunk.choices[0]?.text ?? '';
  }
  assert.equal(text, completion.choices[0].text);
});

test('stop strings and seeds are honoured', async () => {
  const base = { model: MODEL, prompt: 'Once upon a time', max_tokens: 16, temperature: 1.0 };
  const first = await client().completions.create({ ...base, seed: 42 });
  const second = await client().completions.create({ ...base, seed: 42 });
  assert.equal(first.choices[0].text, second.choices[0].text, 'same seed, same text');

  const full = await client().completions.create({ ...base, temperature: 0 });
  const text = full.choices[0].text;
  if (text.length >= 4) {
    const stop = text.slice(2, 4);
    const stopped = await client().completions.create({ ...base, temperature: 0, stop: [stop] });
    assert.equal(stopped.choices[0].finish_reason, 'stop');
    assert.ok(!stopped.choices[0].text.includes(stop), 'the stop string is not returned');
    assert.ok(text.startsWith(stopped.choices[0].text));
  }
});

test('n > 1 is refused clearly through the client', async () => {
  await assert.rejects(
    client().chat.completions.create({ model: MODEL, messages, n: 2 }),
    (error) => error instanceof OpenAI.BadRequestError && /\bn\b/.test(error.message),
  );
});

test('an unknown model is a 404 through the client', async () => {
  await assert.rejects(
    client().chat.completions.create({ model: 'no-such-model', messages }),
    (error) => error instanceof OpenAI.NotFoundError && /no-such-model/.test(error.message),
  );
});

test('bad requests get 4xx in OpenAI error shape and hostd stays up', async () => {
  const cases = [
    [{ messages }, 400, /model/],
    [{ model: 'no-such-model', messages }, 404, /no-such-model/],
    [{ model: MODEL, messages: 'hello' }, 400, /messages/],
    [{ model: MODEL, messages, max_tokens: -3 }, 400, /max_tokens/],
  ];
  for (const [body, status, pattern] of cases) {
    const response = await fetch(`${open}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, status, JSON.stringify(body));
    const payload = await response.json();
    assert.equal(typeof payload.error, 'object', JSON.stringify(payload));
    assert.match(payload.error.message, pattern);
    assert.equal(typeof payload.error.type, 'string');
  }
  const malformed = await fetch(`${open}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model": ',
  });
  assert.equal(malformed.status, 400);
  assert.equal((await fetch(`${open}/v2/health/live`)).status, 200);
});

test('with --api-key, a wrong key is refused with the client\'s own error type', async () => {
  const wrong = new OpenAI({ baseURL: `${guarded}/v1`, apiKey: 'sk-wrong-key', maxRetries: 0 });
  await assert.rejects(wrong.models.list(), (error) => error instanceof OpenAI.AuthenticationError);
  await assert.rejects(
    wrong.chat.completions.create({ model: MODEL, messages, max_tokens: 2 }),
    (error) => error instanceof OpenAI.AuthenticationError && error.status === 401,
  );
  const right = new OpenAI({ baseURL: `${guarded}/v1`, apiKey: 'sk-right-key', maxRetries: 0 });
  const completion = await right.chat.completions.create({ model: MODEL, messages, max_tokens: 2 });
  assert.equal(completion.object, 'chat.completion');
});
