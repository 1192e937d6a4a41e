import { detectCommand } from '../../../plugins/request-guard/detectors/command';

/** The command detector's shapes beyond separator + command (labelled-set.spec.ts measures the rates). */
describe('command detector', () => {
  it.each([
    '|usr/bin/id\\n', // a path relative to /
    '`id`', '$(`ls`)', '$(`whoami`)', 'user=\\`whoami\\`', // a bare command in backticks in a shell position
    'whoami', "' whoami", '" whoami', 'systeminfo', // a whole value that is a recon command
    'which curl', 'which gcc', 'which nc;',
    'net user hacker Password1 /add', 'netsh firewall set opmode disable', // word arguments of Windows tools
    'curl http://x.example/a', 'python -c "import os"', 'telnet 10.0.0.1 23',
  ])('flags %j', (value) => {
    expect(detectCommand(value.toLowerCase())).toBe(true);
  });

  it.each([
    'the `id` field', '(`type`)', 'see `ls`, `dir`', 'Telnet to the default port of a host:', 'Python language interpreter.',
    'Ruby programming language interpreter.', 'which one do you want', 'whoami is a command', 'route', 'Which curl flags?',
  ])('passes %j', (value) => {
    expect(detectCommand(value)).toBe(false);
  });
});
