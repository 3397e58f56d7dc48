// The train/val split of a text, as nanoGPT's shakespeare_char prepare.py: by characters (code points),
//   n = len(data); train = data[:int(n*0.9)]; val = data[int(n*0.9):]
// No Node modules: the browser splits text with it too.

export const TRAIN_FRACTION = 0.9;

export interface TextSplit {
  train: string;
  val: string;
}

/** nanoGPT's split: the first int(n·0.9) code points are train, the rest val. */
export function splitText(text: string, trainFraction = TRAIN_FRACTION): TextSplit {
  const cut = codeUnitIndex(text, Math.floor(countCodePoints(text) * trainFraction));
  return { train: text.slice(0, cut), val: text.slice(cut) };
}

export function countCodePoints(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      const lo = text.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo < 0xe000) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** The UTF-16 index of code point number `k` of `text`. */
function codeUnitIndex(text: string, k: number): number {
  if (!/[\ud800-\udfff]/.test(text)) return k;
  let i = 0;
  for (let seen = 0; seen < k && i < text.length; seen++) {
    const c = text.charCodeAt(i);
    const pair = c >= 0xd800 && c < 0xdc00 && i + 1 < text.length
      && text.charCodeAt(i + 1) >= 0xdc00 && text.charCodeAt(i + 1) < 0xe000;
    i += pair ? 2 : 1;
  }
  return i;
}
