using System;
using System.Collections.Generic;
using System.Net;
using ConnectionsMonitor.Engine;
using ConnectionsMonitor.Engine.Configuration;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Tests.Display
{
    /// <summary>Constructed records and configurations for rendering tests (no sockets, no terminal).</summary>
    internal static class DisplayTestSupport
    {
        public static MonitorConfig Config(string yaml) => ConfigLoader.LoadText(yaml, "config.yml").Config;

        public static ConnectionRecord Tcp(int localPort, int remotePort, TcpState state, string process = "app", int pid = 100,
            string local = "10.0.0.5", string remote = "203.0.113.7")
        {
            var la = IPAddress.Parse(local);
            var ra = IPAddress.Parse(remote);
            return new ConnectionRecord
            {
                Key = new ConnectionKey(TransportProtocol.Tcp, la, localPort, ra, remotePort, pid, (ulong)(localPort * 7 + remotePort)),
                Protocol = TransportProtocol.Tcp,
                LocalAddress = la,
                LocalPort = localPort,
                RemoteAddress = ra,
                RemotePort = remotePort,
                State = state,
                ProcessId = pid,
                ProcessName = process,
            };
        }

        public static ConnectionRecord Udp(int localPort, string process = "dns")
        {
            var la = IPAddress.Parse("0.0.0.0");
            return new ConnectionRecord
            {
                Key = new ConnectionKey(TransportProtocol.Udp, la, localPort, null, null, 200, (ulong)localPort),
                Protocol = TransportProtocol.Udp,
                LocalAddress = la,
                LocalPort = localPort,
                ProcessId = 200,
                ProcessName = process,
            };
        }

        public static ConnectionSnapshot Snapshot(DateTime utc, params ConnectionRecord[] records) =>
            new ConnectionSnapshot(utc, new List<ConnectionRecord>(records), new string[0]);
    }
}
