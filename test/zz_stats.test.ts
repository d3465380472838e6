import { beforeAll, it } from 'vitest';
import fc from 'fast-check';
import { initBackend } from '../src/backend.js';
import { caseArb, modelSpecArb, lockstepGradients, numericGradient, dropoutMasks, describe as describeCase } from './helpers/models.js';
beforeAll(async () => { await initBackend(); });
it('stats', () => {
  const samples = fc.sample(caseArb(modelSpecArb()), { seed: Number(process.env.S ?? 1), numRuns: Number(process.env.N ?? 1000) });
  let rej = 0; const rs: number[] = []; const as: number[] = []; const rr: number[] = [];
  for (const c of samples) {
    const masks = dropoutMasks(c.spec, c);
    const n = numericGradient(c, masks);
    if (n.blocked) { rej++; continue; }
    const { grad } = lockstepGradients(c);
    let worst = 0, worstRel = 0, worstS = 0, wi = -1;
    for (let i = 0; i < grad.length; i++) {
      const e = Math.abs(grad[i] - n.grad[i]);
      const r = e / (n.scales[i] + 1e-300);
      if (r > worst) { worst = r; wi = i; }
      worstRel = Math.max(worstRel, e / (1e-3*Math.abs(n.grad[i]) + 1e-4*n.scales[i] + 1e-9*(1+Math.abs(n.loss))));
      worstS = Math.max(worstS, n.scales[i] / (Math.abs(n.grad[i]) + 1e-300));
    }
    rs.push(worst); rr.push(worstRel);
    if (worst > 2e-5) console.log(describeCase(c), 'e/S', worst, 'ratio', worstRel, 'i', wi, grad[wi], n.grad[wi], n.scales[wi]);
  }
  const q = (a: number[], p: number) => { const b = [...a].sort((x, y) => x - y); return b[Math.min(b.length - 1, Math.floor(b.length * p))]; };
  console.log('rej', rej, 'e/S q50 q99 max', q(rs, .5), q(rs, .99), q(rs, 1), 'ratio q50 q99 max', q(rr, .5), q(rr, .99), q(rr, 1));
});
