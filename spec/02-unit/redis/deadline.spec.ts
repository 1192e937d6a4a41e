import { withDeadline } from '../../../shared/redis/deadline';

describe('withDeadline', () => {
  const activeTimeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

  it('passes a fast result through and leaves no timer behind', async () => {
    const before = activeTimeouts();
    await expect(withDeadline(Promise.resolve(7), 1000, () => new Error('late'))).resolves.toBe(7);
    await expect(withDeadline(Promise.reject(new Error('boom')), 1000, () => new Error('late'))).rejects.toThrow('boom');
    expect(activeTimeouts()).toBe(before);
  });

  it('rejects at the deadline and absorbs the late rejection', async () => {
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    let rejectLate!: (err: Error) => void;
    const slow = new Promise((_resolve, reject) => (rejectLate = reject));
    const started = Date.now();
    await expect(withDeadline(slow, 30, () => new Error('deadline'))).rejects.toThrow('deadline');
    expect(Date.now() - started).toBeLessThan(500);
    rejectLate(new Error('late'));
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', unhandled);
    expect(unhandled).not.toHaveBeenCalled();
  });
});
