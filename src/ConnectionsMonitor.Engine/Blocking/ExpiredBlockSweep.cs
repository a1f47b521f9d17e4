using System;

namespace ConnectionsMonitor.Engine.Blocking
{
    /// <summary>
    /// The service's periodic removal of expired blocks, for firewalls that keep them (Windows Firewall rules never
    /// expire). <see cref="Tick"/> sweeps at most once per <see cref="Interval"/> and returns what to log: how many
    /// blocks went, or a failure (said once until it changes or the sweep works again); null when there is nothing to say.
    /// </summary>
    public sealed class ExpiredBlockSweep
    {
        private readonly ConnectionBlocker _blocker;
        private DateTime _next = DateTime.MinValue;
        private string _lastFailure;

        /// <summary>A sweep over <paramref name="blocker"/>.</summary>
        public ExpiredBlockSweep(ConnectionBlocker blocker)
        {
            _blocker = blocker ?? throw new ArgumentNullException(nameof(blocker));
        }

        /// <summary>How often the firewall is asked (default one minute).</summary>
        public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);

        /// <summary>Sweeps when the interval has passed; returns (false, message) for a removal, (true, message) for a new failure, or (false, null).</summary>
        public (bool Failed, string Message) Tick(DateTime nowUtc)
        {
            if (nowUtc < _next) return (false, null);
            _next = nowUtc + Interval;
            try
            {
                int n = _blocker.Sweep();
                _lastFailure = null;
                return n > 0 ? (false, "Removed " + n + " expired block(s) from " + _blocker.Backend.Description + ".") : (false, null);
            }
            catch (BlockingException ex)
            {
                if (ex.Message == _lastFailure) return (false, null);
                _lastFailure = ex.Message;
                return (true, "Could not remove expired blocks from " + _blocker.Backend.Description + ": " + ex.Message);
            }
        }
    }
}
