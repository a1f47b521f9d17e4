using System;
using System.Collections.Generic;
using System.Net;
using ConnectionsMonitor.Engine.Platform;
using ConnectionsMonitor.Engine.Platform.Windows.Etw;
using Xunit;

namespace ConnectionsMonitor.Tests.Windows
{
    /// <summary>
    /// A stand-in for the ETW session: the test hands it accept payloads (bytes laid out as the kernel's
    /// TcpIp_TypeGroup2/4 events), which go through the session's own router and parser to the sink the
    /// source registered, as they would on the ETW consumer thread.
    /// </summary>
    internal sealed class ScriptedAcceptEvents : IAcceptEventSource
    {
        private static readonly Guid TcpIp = KernelNetworkEventParser.TcpIpGuid;
        private readonly string _startResult;
        private Action<TcpAcceptEvent> _sink;

        public ScriptedAcceptEvents(string startResult = null) => _startResult = startResult;

        public int Starts { get; private set; }
        public bool Disposed { get; private set; }
        public string Failure { get; set; }

        public string StartAccepts(Action<TcpAcceptEvent> sink)
        {
            Starts++;
            _sink = sink;
            return _startResult;
        }

        /// <summary>One kernel accept: <paramref name="remote"/> connected to <paramref name="local"/> (IPv4 opcode 15, IPv6 opcode 31).</summary>
        public void Accept(IPEndPoint local, IPEndPoint remote, uint pid = 4)
        {
            if (_sink == null) throw new InvalidOperationException("not started");
            byte opcode = local.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? (byte)31 : (byte)15;
            EtwNetworkSession.Route(TcpIp, opcode, 2, KernelNetworkEventParserTests.AcceptUserData(pid, local, remote), null, _sink);
        }

        /// <summary>A send of the same connection: a session delivers these too, and they must not count.</summary>
        public void Send(IPEndPoint local, IPEndPoint remote) =>
            EtwNetworkSession.Route(TcpIp, 10, 2, KernelNetworkEventParserTests.UserData(true, true, 4, 100, local, remote), null, _sink);

        public void Dispose() => Disposed = true;
    }

    public class EtwAcceptSourceTests
    {
        private static readonly DateTime T0 = new DateTime(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc);

        [Fact]
        public void Accepts_are_drained_as_inbound_attempts_with_exact_ends_and_times()
        {
            var events = new ScriptedAcceptEvents();
            DateTime now = T0;
            using var source = new EtwAcceptSource(events, 100, () => now);
            Assert.Equal(InboundAttemptKind.AcceptedConnection, source.Kind);
            Assert.Null(source.Start());
            Assert.Null(source.Failure);

            events.Accept(new IPEndPoint(IPAddress.Parse("10.0.0.5"), 22), new IPEndPoint(IPAddress.Parse("203.0.113.9"), 40001));
            now = T0.AddSeconds(1);
            events.Accept(new IPEndPoint(IPAddress.Parse("2001:db8::5"), 443), new IPEndPoint(IPAddress.Parse("2001:db8::9"), 40002));
            events.Send(new IPEndPoint(IPAddress.Parse("10.0.0.5"), 22), new IPEndPoint(IPAddress.Parse("203.0.113.9"), 40001));

            var drained = source.Drain();
            Assert.Equal(2, drained.Count);
            Assert.Equal(IPAddress.Parse("203.0.113.9"), drained[0].RemoteAddress);
            Assert.Equal(40001, drained[0].RemotePort);
            Assert.Equal(IPAddress.Parse("10.0.0.5"), drained[0].LocalAddress);
            Assert.Equal(22, drained[0].LocalPort);
            Assert.Equal(T0, drained[0].TimeUtc);
            Assert.Equal(IPAddress.Parse("2001:db8::9"), drained[1].RemoteAddress);
            Assert.Equal(443, drained[1].LocalPort);
            Assert.Equal(T0.AddSeconds(1), drained[1].TimeUtc);
            Assert.Empty(source.Drain()); // each once
            Assert.Equal(0, source.Dropped);
        }

        [Fact]
        public void A_full_buffer_counts_what_it_turns_away()
        {
            var events = new ScriptedAcceptEvents();
            using var source = new EtwAcceptSource(events, 3, () => T0);
            Assert.Null(source.Start());
            var local = new IPEndPoint(IPAddress.Parse("10.0.0.5"), 80);
            for (int i = 0; i < 5; i++) events.Accept(local, new IPEndPoint(IPAddress.Parse("198.51.100.1"), 50000 + i));

            Assert.Equal(2, source.Dropped);
            var kept = source.Drain();
            Assert.Equal(new[] { 50000, 50001, 50002 }, new[] { kept[0].RemotePort, kept[1].RemotePort, kept[2].RemotePort });
            // Room again after the drain; the count only grows.
            events.Accept(local, new IPEndPoint(IPAddress.Parse("198.51.100.1"), 50010));
            Assert.Single(source.Drain());
            Assert.Equal(2, source.Dropped);
        }

        [Fact]
        public void A_refused_start_is_the_sessions_sentence_said_again_and_nothing_runs()
        {
            var events = new ScriptedAcceptEvents(EtwAcceptSource.ElevationWarning);
            var source = new EtwAcceptSource(events, 10, () => T0);
            Assert.Equal(EtwAcceptSource.ElevationWarning, source.Start());
            Assert.Equal(EtwAcceptSource.ElevationWarning, source.Start()); // remembered, not retried
            Assert.Equal(1, events.Starts);
            Assert.Null(source.Failure); // never ran, so never stopped
            Assert.Empty(source.Drain());
            source.Dispose();
            Assert.True(events.Disposed);
            source.Dispose();
            Assert.Throws<ObjectDisposedException>(() => source.Start());
        }

        [Fact]
        public void A_session_that_stops_is_a_failure_and_dispose_stops_it()
        {
            var events = new ScriptedAcceptEvents();
            var source = new EtwAcceptSource(events, 10, () => T0);
            Assert.Null(source.Start());
            events.Failure = EtwAcceptSource.DescribeStop("the ETW session was stopped by someone else");
            Assert.Equal("ETW accept events stopped (the ETW session was stopped by someone else); watching accepted connections in the socket table instead.", source.Failure);
            source.Dispose();
            Assert.True(events.Disposed);
            Assert.Null(source.Failure);
            events.Accept(new IPEndPoint(IPAddress.Loopback, 80), new IPEndPoint(IPAddress.Loopback, 50000)); // late event after dispose: dropped quietly
            Assert.Empty(source.Drain());
        }

        [Fact]
        public void The_sentences_say_elevation_and_what_is_missed()
        {
            Assert.Contains("Administrator", EtwAcceptSource.ElevationWarning);
            Assert.Contains("elevated", EtwAcceptSource.ElevationWarning);
            Assert.Contains("socket table", EtwAcceptSource.ElevationWarning);
            Assert.Contains("closed ports", EtwAcceptSource.ElevationWarning);
            Assert.EndsWith("instead.", EtwAcceptSource.DescribeStop("x"));
        }
    }
}
