// Preloaded into the utilityProcess double's child: gives it `process.parentPort` as Electron's
// utility processes have it (postMessage out, 'message' events carrying { data } in).
import process from 'node:process';
process.parentPort = {
  postMessage: (message) => {
    if (process.connected) process.send(message);
  },
  on: (event, handler) => {
    if (event === 'message') process.on('message', (data) => handler({ data }));
  },
};
