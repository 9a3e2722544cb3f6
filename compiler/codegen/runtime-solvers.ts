// The linear solvers of `--method implicit`, written once as JavaScript source text that an
// implicit CPU module declares at its top level (it imports nothing). Each solves M v = b for an
// n-vector, M = I − ∂ₓΦ or its transpose at x_K, matrix-free: the module passes apply(w, out),
// which runs the generated one-step JVP (or VJP) and puts M w in out. The workspace is the
// module's, allocated once by create(). Tests evaluate the same text (test/implicit-solvers).

export const IMPLICIT_SOLVE = 'implicitSolve';

export const SOLVER_RUNTIME = `/**
 * Solves M v = b matrix-free (apply(w, out): out = M w) from the start v holds (zeros or a warm
 * start), in place; returns the number of products with M it ran, at most \`steps\`.
 *   neumann:  v ← v + (b − M v): from v = 0, the partial sums Σ_{j≤s} (I − M)ʲ b of the Neumann series.
 *   cg:       conjugate gradients; M must be symmetric positive definite.
 *   gmres:    GMRES(restart), modified Gram–Schmidt and Givens rotations.
 *   bicgstab: BiCGSTAB (two products an iteration).
 * It stops early once ‖b − M v‖ ≤ tol·‖b‖ (tol = 0: never early). With checkSymmetry, CG first
 * makes sure M is symmetric here (symmetryCheck), since on a nonsymmetric M it would return a
 * wrong answer without noticing.
 */
function implicitSolve(solver, steps, restart, tol, n, apply, b, v, work, checkSymmetry) {
  const dot = (x, y) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i] * y[i];
    return s;
  };
  const target = tol * Math.sqrt(dot(b, b));
  let zero = true;
  for (let i = 0; i < n && zero; i++) zero = v[i] === 0;
  // r = b − M v; a product only when v is not zero
  const residual = (r, Mv) => {
    if (zero) r.set(b.subarray(0, n));
    else {
      apply(v, Mv);
      for (let i = 0; i < n; i++) r[i] = b[i] - Mv[i];
    }
    return zero ? 0 : 1;
  };
  const part = (j) => work.subarray(j * n, (j + 1) * n);
  let products = 0;
  if (solver === 'neumann') {
    const r = part(0), Mv = part(1);
    for (;;) {
      products += residual(r, Mv);
      if (tol > 0 && Math.sqrt(dot(r, r)) <= target) break;
      for (let i = 0; i < n; i++) v[i] += r[i];
      zero = false;
      if (products >= steps) break;
    }
    return products;
  }
  if (solver === 'cg') {
    if (checkSymmetry) products += symmetryCheck(n, apply, work);
    const r = part(0), p = part(1), Mp = part(2);
    products += residual(r, Mp);
    p.set(r);
    let rr = dot(r, r);
    while (Math.sqrt(rr) > target && products < steps) {
      apply(p, Mp);
      products++;
      const pMp = dot(p, Mp);
      if (!(pMp > 0)) fail('numeric', 'cg: I − ∂ₓΦ is not positive definite at x_K (pᵀMp = ' + pMp + '); use --solver gmres or bicgstab', { solver });
      const alpha = rr / pMp;
      for (let i = 0; i < n; i++) {
        v[i] += alpha * p[i];
        r[i] -= alpha * Mp[i];
      }
      const next = dot(r, r);
      const beta = next / rr;
      rr = next;
      for (let i = 0; i < n; i++) p[i] = r[i] + beta * p[i];
    }
    return products;
  }
  if (solver === 'bicgstab') {
    const r = part(0), rhat = part(1), p = part(2), Mp = part(3), s = part(4), Ms = part(5);
    products += residual(r, Mp);
    rhat.set(r);
    p.fill(0);
    Mp.fill(0);
    let rho = 1, alpha = 1, omega = 1;
    while (Math.sqrt(dot(r, r)) > target && products + 1 <= steps) {
      const rhoNext = dot(rhat, r);
      if (rhoNext === 0) fail('numeric', 'bicgstab broke down (r̂ᵀr = 0) at x_K; use --solver gmres', { solver });
      const beta = (rhoNext / rho) * (alpha / omega);
      rho = rhoNext;
      for (let i = 0; i < n; i++) p[i] = r[i] + beta * (p[i] - omega * Mp[i]);
      apply(p, Mp);
      products++;
      alpha = rho / dot(rhat, Mp);
      for (let i = 0; i < n; i++) s[i] = r[i] - alpha * Mp[i];
      if (Math.sqrt(dot(s, s)) <= target || products >= steps) {
        for (let i = 0; i < n; i++) v[i] += alpha * p[i];
        r.set(s);
        break;
      }
      apply(s, Ms);
      products++;
      const tt = dot(Ms, Ms);
      omega = tt > 0 ? dot(Ms, s) / tt : 0;
      for (let i = 0; i < n; i++) {
        v[i] += alpha * p[i] + omega * s[i];
        r[i] = s[i] - omega * Ms[i];
      }
      if (omega === 0) break;
    }
    return products;
  }
  // GMRES(m): the basis V₀..V_m in work, then H ((m+1)×m), the rotations and the rotated right-hand side
  const m = Math.min(restart, steps);
  const w = part(m + 1);
  const small = work.subarray((m + 2) * n);
  const H = small.subarray(0, (m + 1) * m), cs = small.subarray((m + 1) * m, (m + 1) * m + m);
  const sn = small.subarray((m + 2) * m, (m + 3) * m), g = small.subarray((m + 3) * m, (m + 3) * m + m + 1);
  const y = small.subarray((m + 4) * m + 1, (m + 5) * m + 1);
  for (;;) {
    const V0 = part(0);
    products += residual(V0, w);
    zero = false;
    const beta = Math.sqrt(dot(V0, V0));
    if (beta <= target || beta === 0 || products >= steps) break;
    for (let i = 0; i < n; i++) V0[i] /= beta;
    g.fill(0);
    g[0] = beta;
    let used = 0;
    for (let j = 0; j < m && products < steps; j++) {
      const Vj = part(j), Vn = part(j + 1);
      apply(Vj, w);
      products++;
      for (let i = 0; i <= j; i++) {
        const Vi = part(i);
        const h = dot(w, Vi);
        H[i * m + j] = h;
        for (let l = 0; l < n; l++) w[l] -= h * Vi[l];
      }
      const norm = Math.sqrt(dot(w, w));
      H[(j + 1) * m + j] = norm;
      if (norm > 0) for (let l = 0; l < n; l++) Vn[l] = w[l] / norm;
      // the earlier rotations on column j, then the one that zeroes H[j+1, j]
      for (let i = 0; i < j; i++) {
        const a = H[i * m + j], c = H[(i + 1) * m + j];
        H[i * m + j] = cs[i] * a + sn[i] * c;
        H[(i + 1) * m + j] = -sn[i] * a + cs[i] * c;
      }
      const a = H[j * m + j], c = H[(j + 1) * m + j];
      const rr = Math.hypot(a, c);
      cs[j] = rr === 0 ? 1 : a / rr;
      sn[j] = rr === 0 ? 0 : c / rr;
      H[j * m + j] = rr;
      H[(j + 1) * m + j] = 0;
      g[j + 1] = -sn[j] * g[j];
      g[j] = cs[j] * g[j];
      used = j + 1;
      if (Math.abs(g[j + 1]) <= target || norm === 0) break;
    }
    // v += V y, where H y = g on the first \`used\` rows (upper triangular)
    for (let i = used - 1; i >= 0; i--) {
      let s = g[i];
      for (let l = i + 1; l < used; l++) s -= H[i * m + l] * y[l];
      y[i] = H[i * m + i] === 0 ? 0 : s / H[i * m + i];
    }
    for (let i = 0; i < used; i++) {
      const Vi = part(i);
      for (let l = 0; l < n; l++) v[l] += y[i] * Vi[l];
    }
    if (used === 0 || Math.abs(g[used]) <= target || products >= steps) break;
  }
  return products;
}

/**
 * The dot-product test ⟨u, M w⟩ = ⟨M u, w⟩ for two fixed vectors: a numeric error when M is not
 * symmetric at this point (CG needs it; a gradient step's ∂ₓΦ is, a general map's is not).
 * Two products.
 */
function symmetryCheck(n, apply, work) {
  const u = work.subarray(0, n), w = work.subarray(n, 2 * n), Mu = work.subarray(2 * n, 3 * n), Mw = work.subarray(3 * n, 4 * n);
  for (let i = 0; i < n; i++) {
    u[i] = Math.sin(i + 1);
    w[i] = Math.cos(2 * i + 1);
  }
  apply(u, Mu);
  apply(w, Mw);
  let uMw = 0, Muw = 0, uu = 0, ww = 0, MuMu = 0, MwMw = 0;
  for (let i = 0; i < n; i++) {
    uMw += u[i] * Mw[i];
    Muw += Mu[i] * w[i];
    uu += u[i] * u[i];
    ww += w[i] * w[i];
    MuMu += Mu[i] * Mu[i];
    MwMw += Mw[i] * Mw[i];
  }
  const scale = Math.sqrt(uu * MwMw) + Math.sqrt(MuMu * ww);
  if (Math.abs(uMw - Muw) > 1e-9 * scale) {
    fail('numeric', 'cg: I − ∂ₓΦ is not symmetric at x_K (⟨u, Mw⟩ = ' + uMw + ' but ⟨Mu, w⟩ = ' + Muw + '); use --solver gmres or bicgstab', { solver: 'cg' });
  }
  return 2;
}`;
