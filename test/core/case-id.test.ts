import { describe, expect, it } from 'vitest';
import { evidenceIdFor, validateCaseId } from '../../src/core/case-id.js';

describe('case ids become folder names', () => {
  it.each(['INC-42', 'inc_2026.11.26', 'A'])('%s is accepted', (id) => {
    expect(validateCaseId(id)).toBe(id);
  });

  it.each(['../etc', 'INC/42', 'a..b', '.hidden', '', 'INC 42', 'x'.repeat(65), 'C:\\temp'])(
    '"%s" is refused before any folder is created',
    (id) => {
      expect(() => validateCaseId(id)).toThrowError(/invalid case id/);
    },
  );
});

describe('evidence ids', () => {
  it('are the same for the same case and source, so a resumed run finds its snapshots', () => {
    const source = 'arn:aws:ec2:us-east-1:222222222222:instance/i-0123456789abcdef0';
    expect(evidenceIdFor('INC-42', source)).toBe(evidenceIdFor('INC-42', source));
    expect(evidenceIdFor('INC-42', source)).toMatch(/^ev-[0-9a-f]{12}$/);
  });

  it('differ between cases and between sources', () => {
    const a = 'arn:aws:ec2:us-east-1:222222222222:instance/i-0123456789abcdef0';
    const b = 'arn:aws:ec2:us-east-1:222222222222:instance/i-0123456789abcdef1';
    expect(evidenceIdFor('INC-42', a)).not.toBe(evidenceIdFor('INC-43', a));
    expect(evidenceIdFor('INC-42', a)).not.toBe(evidenceIdFor('INC-42', b));
  });
});
