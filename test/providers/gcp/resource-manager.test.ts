import { describe, expect, it } from 'vitest';
import { parseGcpConfig } from '../../../src/providers/gcp/config.js';
import { resourceManagerBase } from '../../../src/providers/gcp/resource-manager.js';

const base = { forensicsProject: 'custody-forensics', allowedProjects: ['web-prod'] };

describe('the Resource Manager endpoint a call goes to', () => {
  it("Google's own: global for global resources, LOCATION-cloudresourcemanager for zonal and regional ones", () => {
    const config = parseGcpConfig(base);
    expect(resourceManagerBase(config)).toBe('https://cloudresourcemanager.googleapis.com');
    expect(resourceManagerBase(config, 'us-central1-a')).toBe('https://us-central1-a-cloudresourcemanager.googleapis.com');
    expect(resourceManagerBase(config, 'europe-west4')).toBe('https://europe-west4-cloudresourcemanager.googleapis.com');
  });

  it('the overrides: the global URL, and a location template with {location} filled in', () => {
    const config = parseGcpConfig({ ...base, endpoints: { resourceManager: 'http://127.0.0.1:9/', resourceManagerLocation: 'http://127.0.0.1:9/_location/{location}/' } });
    expect(resourceManagerBase(config)).toBe('http://127.0.0.1:9');
    expect(resourceManagerBase(config, 'us-central1-a')).toBe('http://127.0.0.1:9/_location/us-central1-a');
  });

  it('a location template without {location}, or not a URL once filled in, is refused naming the field', () => {
    expect(() => parseGcpConfig({ ...base, endpoints: { resourceManagerLocation: 'https://cloudresourcemanager.googleapis.com' } })).toThrow(
      /gcp\.endpoints\.resourceManagerLocation: must contain \{location\}/,
    );
    expect(() => parseGcpConfig({ ...base, endpoints: { resourceManagerLocation: '{location} endpoint' } })).toThrow(
      /gcp\.endpoints\.resourceManagerLocation: must be a URL once \{location\} is filled in/,
    );
    expect(() => parseGcpConfig({ ...base, endpoints: { resourceManagerLocation: 'https://user:secret@{location}-crm.example.com' } })).toThrow(/gcp\.endpoints\.resourceManagerLocation/);
  });

  it('a private global endpoint without its location template is refused: the zonal calls would otherwise go to Google’s public endpoints', () => {
    expect(() => parseGcpConfig({ ...base, endpoints: { resourceManager: 'https://crm.private.example.com' } })).toThrow(
      /gcp\.endpoints\.resourceManagerLocation: resourceManager is set but resourceManagerLocation is not: set both/,
    );
  });

  it('a private location template without its global endpoint is refused: the global calls (a snapshot\'s evidence hold, preflight) would otherwise go to Google’s public endpoint', () => {
    expect(() => parseGcpConfig({ ...base, endpoints: { resourceManagerLocation: 'https://{location}-crm.private.example.com' } })).toThrow(
      /gcp\.endpoints\.resourceManager: resourceManagerLocation is set but resourceManager is not: set both/,
    );
  });
});
