// Drives a running server with the official openai client, unchanged: completions, chat, streaming.
// Usage: node openai-client.mjs BASE_URL MODEL. Prints one JSON object with what it saw; exits 1 on any error.
import OpenAI from "openai";

const [baseURL, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "not-needed", maxRetries: 0, timeout: 60_000 });

const models = await client.models.list();
const completion = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 8, temperature: 0 });
const chat = await client.chat.completions.create({
  model, messages: [{ role: "user", content: "Explain mixture of experts." }], max_tokens: 8, temperature: 0,
});
const stream = await client.chat.completions.create({
  model, messages: [{ role: "user", content: "Explain mixture of experts." }], max_tokens: 8, temperature: 0, stream: true,
  stream_options: { include_usage: true },
});
let streamed = "", streamFinish = null, streamUsage = null, chunks = 0;
for await (const chunk of stream) {
  chunks++;
  if (chunk.usage) streamUsage = chunk.usage;
  for (const c of chunk.choices) {
    streamed += c.delta?.content ?? "";
    if (c.finish_reason) streamFinish = c.finish_reason;
  }
}
const completionStream = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 8, temperature: 0, stream: true });
let streamedCompletion = "";
for await (const chunk of completionStream) streamedCompletion += chunk.choices[0]?.text ?? "";

let badRequest = null;
try {
  await client.completions.create({ model, prompt: "x", max_tokens: -1 });
} catch (e) {
  badRequest = { status: e.status, message: e.error?.message ?? e.message };
}

console.log(JSON.stringify({
  models: models.data.map((m) => m.id),
  completion: { text: completion.choices[0].text, finish: completion.choices[0].finish_reason, usage: completion.usage },
  chat: { content: chat.choices[0].message.content, role: chat.choices[0].message.role, finish: chat.choices[0].finish_reason },
  stream: { content: streamed, finish: streamFinish, usage: streamUsage, chunks },
  completionStream: streamedCompletion,
  badRequest,
}));
