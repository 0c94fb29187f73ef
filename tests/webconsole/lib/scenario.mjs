// scenario.mjs — the shift the browser tests play, on a live network
// (net.mjs): the Rotherham failure replayed.
//
//   C  an earlier warning (high; taxi): driver licence TL-0417, incident
//      rotherham-taxi-cse; police, children's services and licensing
//      (J Smith) acknowledged it: complete, so only the detail view's
//      linked alerts bring it back.
//   D  police to children's services only (medium; other: no agency must
//      act), a girl seen getting into a taxi with the same licence.
//      Licensing is no party to it: its console shows it in the broker's
//      chain of A without an id or date ("not sent to this agency").
//   E  police (high; taxi): the same licence again ("TL 0417"); the policy
//      adds licensing and children's services. Children's services
//      acknowledge at once, licensing only after it went overdue: complete,
//      and in A's chain licensing's "acknowledged late".
//   B  police: a girl missing from a care home (medium; cse): open, not due
//      for a day.
//   A  the Home Office: taxi drivers linked to child sexual exploitation
//      (high; taxi, cse), addressed to the police; the network's policy adds
//      licensing and children's services. The police acknowledge (DS Khan),
//      children's services report it in progress, licensing does nothing:
//      with the network's 4 s deadline for high alerts it is OVERDUE for
//      licensing when the officers log in.
//
// Licensing and the Home Office run their gateways (their consoles);
// police and children's services a vigil-agent listen.

import { Net, waitFor } from './net.mjs';

export const PASSWORDS = {
  'Lic Duty': 'licensing duty passphrase',
  'Lic Viewer': 'licensing viewer passphrase',
  'HO Duty': 'home office duty passphrase',
};

export async function shiftNetwork({ gatewayKeys = {} } = {}) {
  const net = await Net.create({ agencies: ['police', 'licensing', 'childrens-services', 'home-office'], deadline: 'high=4s' });
  try {
    await net.startBroker();
    for (const [agency, keys] of Object.entries(gatewayKeys)) net.setGateway(agency, keys);
    net.officerAdd('licensing', 'Lic Duty', 'duty', PASSWORDS['Lic Duty']);
    net.officerAdd('licensing', 'Lic Viewer', 'viewer', PASSWORDS['Lic Viewer']);
    net.officerAdd('home-office', 'HO Duty', 'duty', PASSWORDS['HO Duty']);
    const urls = {
      licensing: (await net.startGateway('licensing')).url,
      'home-office': (await net.startGateway('home-office')).url,
    };
    net.startListener('police');
    net.startListener('childrens-services');
    for (const agency of ['licensing', 'home-office']) {
      await waitFor(async () => {
        const r = await fetch(`${urls[agency]}/v1/session`);
        return r.status === 401; // serving
      }, 10000, `${agency}'s gateway`);
    }
    const ids = {};
    ids.C = net.publish('home-office', [
      '--severity', 'high', '--category', 'taxi', '--to', 'police',
      '--headline', '2019: driver with licence TL-0417 reported to the council',
      '--subject', 'taxi-licence:TL-0417', '--incident', 'rotherham-taxi-cse',
    ]);
    await net.waitState('home-office', ids.C, 'licensing', ['delivered']);
    await net.waitState('home-office', ids.C, 'childrens-services', ['delivered']);
    net.agent('police', 'ack', ids.C, '--officer', 'DS Khan', '--note', 'Filed');
    net.agent('childrens-services', 'ack', ids.C, '--officer', 'SW Hughes');
    net.agent('licensing', 'ack', ids.C, '--officer', 'J Smith', '--note', 'No action: licence renewed');
    ids.D = net.publish('police', [
      '--severity', 'medium', '--category', 'other', '--to', 'childrens-services',
      '--headline', '2021: girl seen getting into a taxi, licence tl 0417',
      '--subject', 'taxi-licence:tl 0417',
    ]);
    ids.E = net.publish('police', [
      '--severity', 'high', '--category', 'taxi',
      '--headline', '2022: complaint about the driver of licence TL 0417',
      '--subject', 'taxi-licence:TL 0417',
    ]);
    await net.waitState('police', ids.E, 'childrens-services', ['delivered']);
    net.agent('childrens-services', 'ack', ids.E, '--officer', 'SW Hughes');
    await waitFor(() => {
      const r = net.status('police', ids.E).recipients.find((x) => x.agency === 'licensing');
      return r.missed_deadline;
    }, 15000, 'E overdue for licensing', 200);
    net.agent('licensing', 'ack', ids.E, '--officer', 'J Smith', '--note', 'Late: the licence file was away');
    await net.waitState('police', ids.E, 'licensing', ['acknowledged']);
    ids.B = net.publish('police', [
      '--severity', 'medium', '--category', 'cse', '--headline', 'Girl, 14, missing from a care home',
      '--description', 'Last seen getting into a private-hire car near the station.',
    ]);
    ids.A = net.publish('home-office', [
      '--severity', 'high', '--category', 'taxi,cse', '--to', 'police',
      '--event', 'Child sexual exploitation',
      '--headline', 'Taxi drivers linked to child sexual exploitation',
      '--description', 'Intelligence links several licensed taxi drivers to the sexual exploitation of children in the borough.',
      '--instruction', 'Acknowledge, review the licences named, and record the action taken.',
      '--subject', 'taxi-licence:TL-0417', '--incident', 'rotherham-taxi-cse',
    ]);
    await net.waitState('home-office', ids.A, 'police', ['delivered']);
    await net.waitState('home-office', ids.A, 'childrens-services', ['delivered']);
    net.agent('police', 'ack', ids.A, '--officer', 'DS Khan', '--note', 'Strategy meeting called');
    net.agent('childrens-services', 'progress', ids.A, '--reason', 'Visiting the family today');
    await waitFor(() => {
      const r = net.status('home-office', ids.A).recipients.find((x) => x.agency === 'licensing');
      return r.missed_deadline && r.escalation_level >= 1;
    }, 15000, 'A overdue for licensing', 200);
    return { net, ids, urls };
  } catch (err) {
    await net.stop({ failed: true });
    throw err;
  }
}

// Logs in on page (already at the console) with the mouse and keyboard.
export async function login(page, name) {
  await page.waitForSelector('#login-name', { visible: true });
  await page.$eval('#login-name', (e) => {
    e.value = '';
  });
  await page.type('#login-name', name);
  await page.type('#login-password', PASSWORDS[name]);
  await page.click('#login-submit');
  try {
    await page.waitForSelector('#list-view:not([hidden])', { timeout: 10000 });
  } catch (err) {
    const why = await page.evaluate(() => document.getElementById('login-error').textContent);
    throw new Error(`${name} could not log in: ${why || err.message}`);
  }
}
