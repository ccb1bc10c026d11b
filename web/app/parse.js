// What users type, parsed: a value (text or JSON) and a batch (a JSON
// object, or one key=value per line). Shared by the views that write.

/** A value typed in a form: text as it is, or JSON. Returns { value } or { error }. */
export function parseValue(text, as) {
  if (as !== 'json') return { value: text };
  if (text.trim() === '') return { error: 'Type a JSON value, e.g. {"name": "Ada"} or 42 — or store it as text.' };
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return { error: `Not valid JSON: ${error.message}` };
  }
}

/**
 * A batch as typed: a JSON object ({"key": value, ...}) or one `key=value`
 * per line. Returns { entries: [[key, value], ...] } or { error }.
 */
export function parseBatch(text) {
  const trimmed = text.trim();
  if (!trimmed) return { error: 'Paste a JSON object or type one key=value per line.' };
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let parsed;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      return { error: `Not valid JSON: ${error.message}` };
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return { error: 'The JSON must be an object: {"key": value, ...}.' };
    }
    const entries = Object.entries(parsed);
    if (!entries.length) return { error: 'The object has no keys.' };
    if (entries.some(([k]) => k === '')) return { error: 'A key must not be empty.' };
    return { entries };
  }
  const entries = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    const eq = line.indexOf('=');
    if (eq < 0) return { error: `Line ${i + 1}: expected key=value, got “${line.length > 40 ? `${line.slice(0, 39)}…` : line}”.` };
    const key = line.slice(0, eq).trim();
    if (!key) return { error: `Line ${i + 1}: the key before “=” is empty.` };
    entries.push([key, line.slice(eq + 1)]);
  }
  if (!entries.length) return { error: 'No key=value line found.' };
  return { entries };
}
