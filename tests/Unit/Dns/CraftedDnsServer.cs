using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Threading;

namespace ConnectionsMonitor.Tests.Dns
{
    /// <summary>
    /// A minimal DNS responder on 127.0.0.1 for answers dnsmasq refuses to serve: it answers every query with the
    /// same hand-built message, either a PTR record whose target labels are arbitrary bytes (control characters,
    /// escape sequences), NXDOMAIN with an SOA record in the authority section, or an error code alone. Counts the queries it receives.
    /// </summary>
    public sealed class CraftedDnsServer : IDisposable
    {
        private readonly Socket _socket;
        private readonly Thread _loop;
        private readonly byte[][] _ptrLabels;
        private readonly int _rcode;
        private readonly bool _soa;
        private readonly uint _soaTtl, _soaMinimum;
        private uint _ptrTtl = 60;
        private int _received;

        private CraftedDnsServer(byte[][] ptrLabels, int rcode, bool soa, uint soaTtl, uint soaMinimum)
        {
            _ptrLabels = ptrLabels;
            _rcode = rcode;
            _soa = soa;
            _soaTtl = soaTtl;
            _soaMinimum = soaMinimum;
            _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            EndPoint = (IPEndPoint)_socket.LocalEndPoint;
            _loop = new Thread(Serve) { IsBackground = true, Name = "crafted DNS server" };
            _loop.Start();
        }

        /// <summary>Answers every query with one PTR record (TTL 60) whose target is these labels, byte for byte.</summary>
        public static CraftedDnsServer AnsweringPtr(params byte[][] labels) => new CraftedDnsServer(labels, 0, false, 0, 0);

        /// <summary>Answers every query with one PTR record with this TTL whose target is these labels.</summary>
        public static CraftedDnsServer AnsweringPtrWithTtl(uint ttl, params byte[][] labels) => new CraftedDnsServer(labels, 0, false, 0, 0) { _ptrTtl = ttl };

        /// <summary>Answers every query with NXDOMAIN and an SOA record (this TTL and MINIMUM) in the authority section.</summary>
        public static CraftedDnsServer AnsweringNxDomain(uint soaTtl, uint soaMinimum) => new CraftedDnsServer(null, 3, true, soaTtl, soaMinimum);

        /// <summary>Answers every query with this response code (2 SERVFAIL, 5 REFUSED …) and no records.</summary>
        public static CraftedDnsServer AnsweringError(int rcode) => new CraftedDnsServer(null, rcode, false, 0, 0);

        public IPEndPoint EndPoint { get; }

        public int Received => Volatile.Read(ref _received);

        private void Serve()
        {
            var buffer = new byte[4096];
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            try
            {
                while (true)
                {
                    int length = _socket.ReceiveFrom(buffer, ref from);
                    Interlocked.Increment(ref _received);
                    var reply = Reply(buffer, length);
                    if (reply != null) _socket.SendTo(reply, from);
                }
            }
            catch (SocketException) { }
            catch (ObjectDisposedException) { }
        }

        private byte[] Reply(byte[] query, int length)
        {
            // The question section: the name's labels up to the zero octet, then type and class.
            int end = 12;
            while (end < length && query[end] != 0) end += query[end] + 1;
            end += 5;
            if (length < 12 || end > length) return null;

            var m = new List<byte>();
            m.Add(query[0]); m.Add(query[1]);                           // the query's id
            bool ptr = _ptrLabels != null;
            m.Add(0x85);                                                 // QR, opcode 0, AA, RD
            m.Add((byte)(0x80 | _rcode));                                // RA; the response code
            Add16(m, 1); Add16(m, ptr ? 1 : 0); Add16(m, _soa ? 1 : 0); Add16(m, 0);
            for (int i = 12; i < end; i++) m.Add(query[i]);

            if (ptr)
            {
                m.Add(0xC0); m.Add(0x0C);                                // owner: the question's name
                Add16(m, 12); Add16(m, 1); Add32(m, _ptrTtl);
                var target = new List<byte>();
                foreach (var label in _ptrLabels) { target.Add((byte)label.Length); target.AddRange(label); }
                target.Add(0);
                Add16(m, target.Count);
                m.AddRange(target);
            }
            else if (_soa)
            {
                m.Add(0xC0); m.Add(0x0C);
                Add16(m, 6); Add16(m, 1); Add32(m, _soaTtl);
                var soa = new List<byte>();
                AddName(soa, "ns", "test");
                AddName(soa, "hostmaster", "test");
                Add32(soa, 1); Add32(soa, 3600); Add32(soa, 600); Add32(soa, 86400); Add32(soa, _soaMinimum);
                Add16(m, soa.Count);
                m.AddRange(soa);
            }
            return m.ToArray();
        }

        private static void AddName(List<byte> m, params string[] labels)
        {
            foreach (var label in labels) { m.Add((byte)label.Length); foreach (char c in label) m.Add((byte)c); }
            m.Add(0);
        }

        private static void Add16(List<byte> m, int value) { m.Add((byte)(value >> 8)); m.Add((byte)value); }

        private static void Add32(List<byte> m, uint value) { Add16(m, (int)(value >> 16)); Add16(m, (int)(value & 0xFFFF)); }

        public void Dispose()
        {
            _socket.Dispose();
            _loop.Join(TimeSpan.FromSeconds(5));
        }
    }
}
