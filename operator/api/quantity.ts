// Kubernetes resource quantities ("1Gi", "500m", "1e3"): recognising them and
// reading their value, for validation of sizes and resources. Must never round
// a quantity it writes back: the operator passes users' strings through as-is.

/** QUANTITY_PATTERN is the grammar of resource.Quantity (apimachinery), anchored. */
export const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

const QUANTITY = new RegExp(QUANTITY_PATTERN);

const SUFFIX: Record<string, number> = {
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
};

/** isQuantity says whether `text` is a well-formed quantity. */
export function isQuantity(text: unknown): boolean {
  return typeof text === 'string' && QUANTITY.test(text);
}

/** quantityValue is the numeric value of a quantity (approximate for huge ones), or undefined when malformed. */
export function quantityValue(text: string): number | undefined {
  if (!isQuantity(text)) return undefined;
  const m = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)$/.exec(text)!;
  const base = Number(m[1]);
  const suffix = m[2];
  if (suffix.startsWith('e') || suffix.startsWith('E')) return base * 10 ** Number(suffix.slice(1));
  return base * SUFFIX[suffix];
}
