// Loaded into Node programs through NODE_OPTIONS=--import by the process kubelet
// when mount namespaces are unavailable: dns.lookup (and so net, http, grpc-js)
// first consults the localkube hosts file named by LOCALKUBE_HOSTS_FILE, then
// falls back to the system resolver. It must never change anything else.
import dns from 'node:dns';
import fs from 'node:fs';

const file = process.env.LOCALKUBE_HOSTS_FILE;

function fromHosts(name) {
  if (!file) return [];
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const wanted = String(name).toLowerCase().replace(/\.$/, '');
  const out = [];
  for (const line of text.split('\n')) {
    const fields = line.replace(/#.*/, '').trim().split(/\s+/);
    if (fields.length < 2) continue;
    if (fields.slice(1).some((h) => h.toLowerCase() === wanted)) out.push({ address: fields[0], family: fields[0].includes(':') ? 6 : 4 });
  }
  return out;
}

const original = dns.lookup;
dns.lookup = function lookup(hostname, options, callback) {
  if (typeof options === 'function') {
    callback = options;
    options = {};
  }
  const opts = typeof options === 'number' ? { family: options } : options ?? {};
  let found = fromHosts(hostname);
  if (opts.family === 4 || opts.family === 6) found = found.filter((a) => a.family === opts.family);
  if (found.length === 0) return original.call(dns, hostname, options, callback);
  process.nextTick(() => {
    if (opts.all) callback(null, found);
    else callback(null, found[0].address, found[0].family);
  });
  return {};
};

const originalPromise = dns.promises.lookup;
dns.promises.lookup = async function lookup(hostname, options = {}) {
  const opts = typeof options === 'number' ? { family: options } : options;
  let found = fromHosts(hostname);
  if (opts.family === 4 || opts.family === 6) found = found.filter((a) => a.family === opts.family);
  if (found.length === 0) return originalPromise.call(dns.promises, hostname, options);
  return opts.all ? found : found[0];
};
