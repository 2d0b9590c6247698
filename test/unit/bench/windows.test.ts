import { expect } from 'chai';
import { summarizeWindows } from '../../../bench/windows.ts';

describe('bench: summarizeWindows', () => {
  it('gives the mean, median, min and max of the windows\' rates, in any order', () => {
    expect(summarizeWindows([528, 960, 1320, 921, 2280, 2225])).to.deep.equal({ mean: 1372.3333333333333, median: 1140, min: 528, max: 2280 });
    expect(summarizeWindows([3, 1, 2])).to.deep.equal({ mean: 2, median: 2, min: 1, max: 3 });
    expect(summarizeWindows([700])).to.deep.equal({ mean: 700, median: 700, min: 700, max: 700 });
  });
  it('refuses an empty list', () => {
    expect(() => summarizeWindows([])).to.throw(/no windows/);
  });
});
