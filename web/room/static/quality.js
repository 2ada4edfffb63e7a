// Connection quality from getStats(): round-trip time of the selected
// candidate pair, packet loss and bitrate of what is received, as deltas
// between two samples.

export class Quality {
  constructor() { this.prev = null; }

  reset() { this.prev = null; }

  // sample returns {rtt, loss, kbps, level} or null before two samples.
  async sample(pc) {
    const report = await pc.getStats();
    let rtt = null;
    let lost = 0;
    let received = 0;
    let bytes = 0;
    let pairId = null;
    report.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    report.forEach((s) => {
      if (s.type === 'candidate-pair' && (s.id === pairId || (!pairId && s.nominated && s.state === 'succeeded'))) {
        if (typeof s.currentRoundTripTime === 'number') rtt = s.currentRoundTripTime * 1000;
      }
      if (s.type === 'inbound-rtp') {
        lost += s.packetsLost || 0;
        received += s.packetsReceived || 0;
        bytes += s.bytesReceived || 0;
      }
    });
    const now = performance.now();
    const prev = this.prev;
    this.prev = { now, lost, received, bytes };
    if (!prev) return null;
    const dLost = Math.max(0, lost - prev.lost);
    const dRecv = Math.max(0, received - prev.received);
    const loss = dLost + dRecv > 0 ? (100 * dLost) / (dLost + dRecv) : 0;
    const kbps = ((bytes - prev.bytes) * 8) / Math.max(1, now - prev.now);
    let level = 'good';
    if (loss > 8 || (rtt !== null && rtt > 600)) level = 'poor';
    else if (loss > 2 || (rtt !== null && rtt > 300)) level = 'fair';
    return { rtt, loss, kbps, level };
  }
}
