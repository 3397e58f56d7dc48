// A small XML well-formedness check for the SVG plots (no XML parser is a dependency): tags balance and nest,
// attributes are name="value", text has no bare '<' or '&', exactly one root element.

export interface XmlSummary {
  root: string;
  /** Element counts by name. */
  elements: Map<string, number>;
  /** All text content, joined by '\n'. */
  text: string;
}

const NAME = '[A-Za-z_][\\w.:-]*';
const ATTRS = new RegExp(`^(\\s+${NAME}\\s*=\\s*("[^"<]*"|'[^'<]*'))*\\s*$`);
const ENTITY = /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;

/** Parses `xml` (an optional <?xml?> declaration first); throws on the first well-formedness error. */
export function checkXml(xml: string): XmlSummary {
  const body = xml.replace(/^\s*<\?xml[^?]*\?>/, '');
  const stack: string[] = [];
  const elements = new Map<string, number>();
  const text: string[] = [];
  let root = '';
  let i = 0;
  while (i < body.length) {
    const lt = body.indexOf('<', i);
    const chunk = body.slice(i, lt < 0 ? body.length : lt);
    if (ENTITY.test(chunk)) throw new Error(`bare & in text at ${i}`);
    if (chunk.trim() !== '') {
      if (stack.length === 0) throw new Error(`text outside the root at ${i}`);
      text.push(chunk);
    }
    if (lt < 0) break;
    const gt = body.indexOf('>', lt);
    if (gt < 0) throw new Error(`unclosed tag at ${lt}`);
    const tag = body.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('!--')) {
      const end = body.indexOf('-->', lt);
      if (end < 0) throw new Error('unclosed comment');
      i = end + 3;
      continue;
    }
    const close = new RegExp(`^/(${NAME})\\s*$`).exec(tag);
    if (close !== null) {
      const open = stack.pop();
      if (open !== close[1]) throw new Error(`</${close[1]}> closes <${open ?? 'nothing'}>`);
      continue;
    }
    const m = new RegExp(`^(${NAME})([\\s\\S]*?)(/?)$`).exec(tag);
    if (m === null || !ATTRS.test(m[2]!)) throw new Error(`malformed tag <${tag.slice(0, 60)}>`);
    if (ENTITY.test(m[2]!)) throw new Error(`bare & in an attribute of <${m[1]}>`);
    const name = m[1]!;
    if (stack.length === 0) {
      if (root !== '') throw new Error(`a second root element <${name}>`);
      root = name;
    }
    elements.set(name, (elements.get(name) ?? 0) + 1);
    if (m[3] !== '/') stack.push(name);
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack[stack.length - 1]}>`);
  if (root === '') throw new Error('no root element');
  return { root, elements, text: text.join('\n') };
}
