// The isoFLOP fit of the paper and of Chinchilla (Hoffmann et al. 2022, approach 2): at one budget, loss against
// x = ln(parameters) is fitted by a parabola L(x) = a·x² + b·x + c (least squares); its vertex x* = −b / 2a is the
// compute-optimal size when a > 0.

export interface Point {
  /** ln(parameters). */
  x: number;
  loss: number;
}

export interface Parabola {
  a: number;
  b: number;
  c: number;
}

export interface IsoFit {
  parabola: Parabola | null;
  /** The optimum: the vertex when the parabola opens upwards and its vertex lies within the sizes measured, else the
   *  lowest measured point. */
  optimum: Point;
  /** How the optimum was found: 'vertex', or 'lowest point' with why (too few sizes, no minimum, vertex outside). */
  method: 'vertex' | 'lowest point (fewer than 3 sizes)' | 'lowest point (the fit has no minimum)' | 'lowest point (vertex outside the ladder)';
}

/** Least-squares parabola through the points (x centred for conditioning); null with fewer than 3 distinct x. */
export function fitParabola(points: readonly Point[]): Parabola | null {
  if (new Set(points.map((p) => p.x)).size < 3) return null;
  const m = points.reduce((s, p) => s + p.x, 0) / points.length;
  // Normal equations for L = α·u² + β·u + γ with u = x − m.
  const S = [0, 0, 0, 0, 0];
  const T = [0, 0, 0];
  for (const p of points) {
    const u = p.x - m;
    for (let k = 0; k <= 4; k++) S[k]! += u ** k;
    for (let k = 0; k <= 2; k++) T[k]! += p.loss * u ** k;
  }
  const [gamma, beta, alpha] = solve3([[S[0]!, S[1]!, S[2]!], [S[1]!, S[2]!, S[3]!], [S[2]!, S[3]!, S[4]!]], [T[0]!, T[1]!, T[2]!]);
  // Back to x: α(x − m)² + β(x − m) + γ.
  return { a: alpha, b: beta - 2 * alpha * m, c: alpha * m * m - beta * m + gamma };
}

export function evalParabola(p: Parabola, x: number): number {
  return p.a * x * x + p.b * x + p.c;
}

/** The isoFLOP curve's fit and optimum. */
export function isoFit(points: readonly Point[]): IsoFit {
  const lowest = points.reduce((best, p) => (p.loss < best.loss ? p : best));
  const parabola = fitParabola(points);
  if (parabola === null) return { parabola, optimum: lowest, method: 'lowest point (fewer than 3 sizes)' };
  if (!(parabola.a > 0)) return { parabola, optimum: lowest, method: 'lowest point (the fit has no minimum)' };
  const x = -parabola.b / (2 * parabola.a);
  const xs = points.map((p) => p.x);
  if (x < Math.min(...xs) || x > Math.max(...xs)) return { parabola, optimum: lowest, method: 'lowest point (vertex outside the ladder)' };
  return { parabola, optimum: { x, loss: evalParabola(parabola, x) }, method: 'vertex' };
}

/** Gaussian elimination with partial pivoting on a 3×3 system. */
function solve3(a: number[][], y: number[]): [number, number, number] {
  const m = a.map((row, i) => [...row, y[i]!]);
  for (let col = 0; col < 3; col++) {
    let piv = col;
    for (let r = col + 1; r < 3; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[piv]![col]!)) piv = r;
    [m[col], m[piv]] = [m[piv]!, m[col]!];
    for (let r = 0; r < 3; r++) {
      if (r === col) continue;
      const f = m[r]![col]! / m[col]![col]!;
      for (let k = col; k < 4; k++) m[r]![k]! -= f * m[col]![k]!;
    }
  }
  return [m[0]![3]! / m[0]![0]!, m[1]![3]! / m[1]![1]!, m[2]![3]! / m[2]![2]!];
}
