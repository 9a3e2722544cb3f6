// Least squares by gradient descent, differentiated with respect to the problem itself: u = (A, b).
import { defineMap } from 'phic';

export default defineMap({
  name: 'least_squares',
  state: { x: 'n' },
  params: { A: 'm,n', b: 'm' },
  objective: '0.5 * sum((A * x - b).^2)',
  method: { name: 'gd', step: 0.3 },
});
