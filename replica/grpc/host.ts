// Host names as URLs spell them and as sockets want them: an IPv6 literal is
// bracketed in a URL or target ("[::1]:2380") and bare for net and tls
// ("::1"). Pure string work; it must never resolve a name.

/** bareHost drops the brackets around an IPv6 literal; any other host comes back as given. */
export function bareHost(host: string): string {
  return host.length >= 2 && host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
