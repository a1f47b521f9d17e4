using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Threading;
using ConnectionsMonitor.Engine.Model;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Windows;
using ConnectionsMonitor.Engine.Platform.Windows.Etw;
using Xunit;
using ConnectionsMonitor.Engine.Filtering;

namespace ConnectionsMonitor.Tests.Windows
{
    /// <summary>
    /// Issue #11 (Windows first run): the ETW session took a system-logger slot (eight per machine) from
    /// the first table read until the process ended. Now it runs only while byte counts are wanted. A
    /// fake session factory and a fake clock stand in for ETW and time.
    /// </summary>
    public class TrafficCounterLifecycleTests
    {
        private static readonly IPEndPoint Local = new IPEndPoint(IPAddress.Parse("10.0.0.5"), 50001);
        private static readonly IPEndPoint Remote = new IPEndPoint(IPAddress.Parse("93.184.216.34"), 443);

        private sealed class FakeSession : INetworkEventSource
        {
            private readonly string _startResult;
            public Action<NetworkEvent> Sink;
            public readonly ManualResetEventSlim Stopped = new ManualResetEventSlim();
            public string Failure { get; set; }
            public FakeSession(string startResult) => _startResult = startResult;
            public string Start(Action<NetworkEvent> sink) { Sink = sink; return _startResult; }
            public void Dispose() => Stopped.Set();
        }

        /// <summary>Makes a new fake session per start and remembers them all.</summary>
        private sealed class FakeController
        {
            public readonly List<FakeSession> Sessions = new List<FakeSession>();
            public string StartResult;
            public FakeSession Current => Sessions.Last();
            public INetworkEventSource Make()
            {
                var s = new FakeSession(StartResult);
                Sessions.Add(s);
                return s;
            }
        }

        private sealed class FakeClock
        {
            public long Ticks = 1;
            public void Advance(TimeSpan t) => Ticks += (long)(t.TotalSeconds * Stopwatch.Frequency);
        }

        private static readonly TimeSpan Idle = TimeSpan.FromMinutes(2);

        private static (WindowsTrafficCounters counters, FakeController etw, FakeClock clock) Build()
        {
            var etw = new FakeController();
            var clock = new FakeClock();
            return (new WindowsTrafficCounters(etw.Make, new TrafficAggregator(), Idle, () => clock.Ticks), etw, clock);
        }

        /// <summary>IP Helper with one TCP IPv4 connection and empty other tables.</summary>
        private static uint OneConnection(IpHelperTableLayout layout, byte[] buffer, ref uint size)
        {
            byte[] table = layout == IpHelperTableLayout.TcpV4Module
                ? NativeTable.OneEstablishedV4(Local, Remote, 100)
                : new byte[4];
            return NativeTable.Answer(table, buffer, ref size);
        }

        private static readonly ConnectionQuery WithoutBytes = new ConnectionQuery { IncludeByteCounts = false };

        [Fact]
        public void A_read_that_does_not_ask_for_bytes_starts_nothing_and_rows_have_null_bytes()
        {
            var (counters, etw, _) = Build();
            var table = new WindowsConnectionTable(4096, OneConnection, counters);
            var result = table.Read(WithoutBytes);
            Assert.Empty(etw.Sessions);
            Assert.Empty(result.Warnings);
            Assert.Null(Assert.Single(result.Entries).BytesSent);
        }

        [Fact]
        public void A_read_that_asks_starts_the_session_which_stops_after_the_idle_time()
        {
            var (counters, etw, clock) = Build();
            var table = new WindowsConnectionTable(4096, OneConnection, counters);
            Assert.Equal(0, Assert.Single(table.Read(new ConnectionQuery()).Entries).BytesSent);
            Assert.True(counters.IsRunning);

            clock.Advance(Idle - TimeSpan.FromSeconds(1));
            counters.StopIfIdle();
            Assert.True(counters.IsRunning); // asked for less than the idle time ago

            clock.Advance(TimeSpan.FromSeconds(2));
            counters.StopIfIdle();
            Assert.False(counters.IsRunning);
            Assert.True(etw.Current.Stopped.IsSet);
            Assert.Single(etw.Sessions);
        }

        [Fact]
        public void Each_request_pushes_the_idle_stop_back()
        {
            var (counters, etw, clock) = Build();
            for (int i = 0; i < 5; i++)
            {
                Assert.Null(counters.Start());
                clock.Advance(Idle - TimeSpan.FromSeconds(10));
                counters.StopIfIdle();
                Assert.True(counters.IsRunning);
            }
            Assert.Single(etw.Sessions); // one session throughout, not one per request
        }

        [Fact]
        public void Leases_are_counted_and_the_last_one_stops_the_session()
        {
            var (counters, etw, clock) = Build();
            var a = counters.Acquire();
            var b = counters.Acquire();
            Assert.Null(a.Problem);
            Assert.Single(etw.Sessions);
            Assert.Equal(2, counters.Leases);

            clock.Advance(Idle + Idle);
            counters.StopIfIdle();
            Assert.True(counters.IsRunning); // leases hold it whatever the clock says

            a.Dispose();
            a.Dispose(); // twice is once
            Assert.Equal(1, counters.Leases);
            Assert.True(counters.IsRunning);

            b.Dispose();
            Assert.Equal(0, counters.Leases);
            Assert.False(counters.IsRunning);
            Assert.True(etw.Current.Stopped.IsSet);
        }

        [Fact]
        public void The_last_lease_leaves_the_session_running_while_a_recent_read_wants_bytes()
        {
            var (counters, _, clock) = Build();
            var lease = counters.Acquire();
            Assert.Null(counters.Start());
            lease.Dispose();
            Assert.True(counters.IsRunning);
            clock.Advance(Idle + TimeSpan.FromSeconds(1));
            counters.StopIfIdle();
            Assert.False(counters.IsRunning);
        }

        [Fact]
        public void Rows_of_reads_that_do_not_ask_carry_counts_only_while_someone_else_holds_the_session()
        {
            var (counters, etw, _) = Build();
            var table = new WindowsConnectionTable(4096, OneConnection, counters);
            var lease = counters.Acquire();
            etw.Current.Sink(NetworkEvent.Create(TransportProtocol.Tcp, TrafficDirection.Send, 100, 500, Local, Remote));
            Assert.Equal(500, Assert.Single(table.Read(WithoutBytes).Entries).BytesSent);
            lease.Dispose();
            Assert.False(counters.IsRunning);
            Assert.Null(Assert.Single(table.Read(WithoutBytes).Entries).BytesSent); // nothing runs: unknown, not 0
            Assert.Single(etw.Sessions);
        }

        [Fact]
        public void A_new_user_after_a_stop_gets_a_new_session_that_counts_from_zero()
        {
            var (counters, etw, _) = Build();
            var table = new WindowsConnectionTable(4096, OneConnection, counters);
            using (counters.Acquire())
                etw.Current.Sink(NetworkEvent.Create(TransportProtocol.Tcp, TrafficDirection.Send, 100, 500, Local, Remote));
            Assert.Single(etw.Sessions);

            using (counters.Acquire())
            {
                Assert.Equal(2, etw.Sessions.Count);
                Assert.True(etw.Sessions[0].Stopped.IsSet);
                Assert.False(etw.Sessions[1].Stopped.IsSet);
                Assert.Equal(0, Assert.Single(table.Read(WithoutBytes).Entries).BytesSent); // the first session's 500 is gone
            }
        }

        [Fact]
        public void A_session_that_stops_during_a_read_that_did_not_ask_leaves_its_rows_unknown_not_zero()
        {
            var (counters, _, clock) = Build();
            Assert.Null(counters.Start());
            clock.Advance(Idle + TimeSpan.FromSeconds(1));
            bool stopped = false;
            uint StopsDuringTheRead(IpHelperTableLayout layout, byte[] buffer, ref uint size)
            {
                if (!stopped) { stopped = true; counters.StopIfIdle(); } // the idle timer fires mid-read
                return OneConnection(layout, buffer, ref size);
            }
            var table = new WindowsConnectionTable(4096, StopsDuringTheRead, counters);
            var row = Assert.Single(table.Read(WithoutBytes).Entries);
            Assert.False(counters.IsRunning);
            Assert.Null(row.BytesSent);
            Assert.Null(row.BytesReceived);
        }

        [Fact]
        public void A_start_that_failed_is_not_retried_and_every_user_hears_why()
        {
            var (counters, etw, _) = Build();
            etw.StartResult = EtwNetworkSession.ElevationWarning;
            Assert.Equal(EtwNetworkSession.ElevationWarning, counters.Start());
            var lease = counters.Acquire();
            Assert.Equal(EtwNetworkSession.ElevationWarning, lease.Problem);
            lease.Dispose();
            Assert.Equal(EtwNetworkSession.ElevationWarning, counters.Start());
            Assert.Single(etw.Sessions);
            Assert.True(etw.Current.Stopped.IsSet); // a failed source is released at once
            Assert.False(counters.IsRunning);
        }

        [Fact]
        public void Disposing_stops_a_running_session_and_refuses_new_leases()
        {
            var (counters, etw, _) = Build();
            counters.Acquire();
            counters.Dispose();
            Assert.True(etw.Current.Stopped.IsSet);
            Assert.NotNull(counters.Start());
            Assert.Throws<ObjectDisposedException>(() => counters.Acquire());
            Assert.Single(etw.Sessions);
        }

        [Fact]
        public void The_platform_hands_out_claims_through_the_platform_neutral_interface()
        {
            var etw = new FakeController();
            var platform = new WindowsPlatform(new WindowsTrafficCounters(etw.Make, new TrafficAggregator(), Idle, () => 1));
            IByteCounterUsers users = platform;
            using (users.AcquireByteCounters(out string problem))
            {
                Assert.Null(problem);
                Assert.Single(etw.Sessions);
                Assert.False(etw.Current.Stopped.IsSet);
            }
            Assert.True(etw.Current.Stopped.IsSet);
            platform.Dispose();
        }

        [Fact]
        public void With_the_real_clock_the_idle_timer_stops_the_session_by_itself()
        {
            var etw = new FakeController();
            using (var counters = new WindowsTrafficCounters(etw.Make, new TrafficAggregator(), TimeSpan.FromMilliseconds(50), null))
            {
                Assert.Null(counters.Start());
                Assert.True(etw.Current.Stopped.Wait(TimeSpan.FromSeconds(30)), "the idle timer never stopped the session");
                Assert.False(counters.IsRunning);
            }
        }

        // QueryAllTraces: room for 64 first; ERROR_MORE_DATA reports how many run.
        [Fact]
        public void Running_sessions_are_listed_again_with_more_room_when_more_than_64_run()
        {
            var all = Enumerable.Range(0, 70).Select(i => "Session-" + i).ToArray();
            var capacities = new List<int>();
            int Query(int capacity, out uint count, out string[] names)
            {
                capacities.Add(capacity);
                count = (uint)all.Length;
                names = null;
                if (capacity < all.Length) return 234; // ERROR_MORE_DATA
                names = all;
                return 0;
            }
            var listed = EtwNetworkSession.RunningSessionNames(Query);
            Assert.Equal(all, listed);
            Assert.Equal(64, capacities[0]);
            Assert.Equal(2, capacities.Count);
            Assert.True(capacities[1] >= 70);
        }

        [Fact]
        public void Sessions_that_keep_multiplying_give_up_after_a_few_queries()
        {
            int calls = 0;
            int Query(int capacity, out uint count, out string[] names)
            {
                calls++;
                count = (uint)capacity + 100; // always more than the room given
                names = null;
                return 234;
            }
            Assert.Null(EtwNetworkSession.RunningSessionNames(Query));
            Assert.InRange(calls, 2, 4);
        }

        [Fact]
        public void Any_other_query_error_lists_nothing()
        {
            int Query(int capacity, out uint count, out string[] names)
            {
                count = 0;
                names = null;
                return 5; // access denied
            }
            Assert.Null(EtwNetworkSession.RunningSessionNames(Query));
        }
    }
}

namespace ConnectionsMonitor.Tests.Windows
{
    /// <summary>A sample window holds a claim on claimed counters for its whole length (a window longer than the idle time must not see them restart).</summary>
    public class SampleWindowClaimTests
    {
        private sealed class ClaimCountingPlatform : IPlatform, IByteCounterUsers, IConnectionTable, IProcessCatalog
        {
            public int Held;
            public readonly List<int> HeldAtReads = new List<int>();
            public string Name => "claims";
            public IConnectionTable Connections => this;
            public IProcessCatalog Processes => this;
            public IClosedConnectionFeed ClosedConnections => null;
            public INetworkInterfaceCatalog Interfaces => null;

            public IDisposable AcquireByteCounters(out string problem)
            {
                problem = null;
                Held++;
                return new Release(this);
            }

            public ConnectionTableResult Read(ConnectionQuery request)
            {
                HeldAtReads.Add(Held);
                return new ConnectionTableResult(new List<SocketEntry>(), null);
            }

            public IReadOnlyDictionary<int, ProcessInfo> Lookup(IReadOnlyCollection<int> processIds) => new Dictionary<int, ProcessInfo>();

            private sealed class Release : IDisposable
            {
                private ClaimCountingPlatform _owner;
                public Release(ClaimCountingPlatform owner) => _owner = owner;
                public void Dispose()
                {
                    if (_owner != null) _owner.Held--;
                    _owner = null;
                }
            }
        }

        [Fact]
        public void Both_snapshots_of_a_window_run_under_one_claim_released_at_the_end()
        {
            var platform = new ClaimCountingPlatform();
            using (var engine = new ConnectionsMonitor.Engine.MonitorEngine(platform))
                ConnectionsMonitor.Engine.Traffic.TrafficWindow.Measure(engine, TimeSpan.FromMilliseconds(1), CancellationToken.None);
            Assert.Equal(new[] { 1, 1 }, platform.HeldAtReads);
            Assert.Equal(0, platform.Held);
        }
    }
}
