// Preloaded into the suite's origin server: it listens on all interfaces by default; bind it to 127.0.0.1.
import http from 'node:http'

const listen = http.Server.prototype.listen
http.Server.prototype.listen = function (port, ...rest) {
  if (typeof port === 'number' || typeof port === 'string') {
    return listen.call(this, Number(port), '127.0.0.1', ...rest.filter(a => typeof a === 'function'))
  }
  return listen.call(this, port, ...rest)
}
