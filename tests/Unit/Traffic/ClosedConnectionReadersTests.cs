using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using Xunit;

namespace ConnectionsMonitor.Tests.Traffic
{
    /// <summary>Several readers of one platform feed (the sampler and traffic windows) each get every closing.</summary>
    public class ClosedConnectionReadersTests
    {
        private sealed class QueueFeed : IClosedConnectionFeed
        {
            public readonly List<SocketEntry> Pending = new List<SocketEntry>();
            public long Lost;
            public int Starts, Stops;
            public string Start() { Starts++; return null; }
            public void Stop() => Stops++;
            public IReadOnlyList<SocketEntry> DrainClosed()
            {
                var d = Pending.ToList();
                Pending.Clear();
                return d;
            }
            public long LostReports => Lost;
        }

        private static SocketEntry Closed(int port) => new SocketEntry
        {
            Protocol = TransportProtocol.Tcp, LocalAddress = IPAddress.Loopback, LocalPort = port, RemoteAddress = IPAddress.Loopback, RemotePort = 80, State = TcpState.Closed,
        };

        [Fact]
        public void EachReaderGetsEveryClosingOnceAndOnlyThoseAfterItOpened()
        {
            var feed = new QueueFeed();
            var readers = new ClosedConnectionReaders(feed);
            feed.Pending.Add(Closed(1)); // before any reader: nobody's
            var sampler = readers.Open();
            feed.Pending.Add(Closed(2));
            var window = readers.Open(); // takes nothing of what came before it
            feed.Pending.Add(Closed(3));
            Assert.Equal(new[] { 2, 3 }, sampler.DrainClosed().Select(e => e.LocalPort));
            feed.Pending.Add(Closed(4));
            Assert.Equal(new[] { 3, 4 }, window.DrainClosed().Select(e => e.LocalPort));
            Assert.Equal(new[] { 4 }, sampler.DrainClosed().Select(e => e.LocalPort));
            Assert.Empty(window.DrainClosed());
            window.Dispose();
            Assert.Equal(1, readers.Count);
            Assert.Empty(window.DrainClosed());
            sampler.Dispose();
            Assert.Equal(0, readers.Count);
        }

        [Fact]
        public void AReaderThatIsNotDrainedHoldsAtMostItsCapAndCountsTheRest()
        {
            var feed = new QueueFeed { Lost = 3 };
            var readers = new ClosedConnectionReaders(feed);
            var idle = readers.Open();
            var busy = readers.Open();
            for (int round = 0; round < 3; round++)
            {
                for (int i = 0; i < ClosedConnectionReaders.MaxPendingPerReader / 2 + 1; i++) feed.Pending.Add(Closed(i));
                Assert.Equal(ClosedConnectionReaders.MaxPendingPerReader / 2 + 1, busy.DrainClosed().Count);
            }
            Assert.Equal(3L, busy.LostReports); // the platform's only
            Assert.Equal(3L + 3 * (ClosedConnectionReaders.MaxPendingPerReader / 2 + 1) - ClosedConnectionReaders.MaxPendingPerReader, idle.LostReports);
            Assert.Equal(ClosedConnectionReaders.MaxPendingPerReader, idle.DrainClosed().Count);
        }

        [Fact]
        public void TheFeedStopsWithItsLastReaderAndAClosedReaderCannotStartIt()
        {
            var feed = new QueueFeed();
            var readers = new ClosedConnectionReaders(feed);
            var sampler = readers.Open();
            var window = readers.Open();
            Assert.Null(sampler.Start());
            window.Dispose();
            Assert.Equal(0, feed.Stops); // the sampler still reads
            window.Dispose();            // twice: no second stop
            Assert.Equal(0, feed.Stops);
            sampler.Dispose();
            Assert.Equal(1, feed.Stops);
            Assert.Throws<ObjectDisposedException>(() => sampler.Start());
            Assert.Equal(1, feed.Starts);

            var next = readers.Open();   // a later reader starts it again
            Assert.Null(next.Start());
            Assert.Equal(2, feed.Starts);
            feed.Pending.Add(Closed(9));
            Assert.Equal(9, Assert.Single(next.DrainClosed()).LocalPort);
            ((IClosedConnectionFeed)next).Stop(); // a reader stops by closing
            Assert.Equal(2, feed.Stops);
            Assert.Empty(next.DrainClosed());
        }
    }
}
