using System;
using System.Collections.Generic;
using ConnectionsMonitor.Engine.Model;

namespace ConnectionsMonitor.Engine.Platform.Linux
{
    /// <summary>
    /// A NETLINK_SOCK_DIAG socket (what ss uses) kept open across reads. One dump at a time: the
    /// socket, sequence counter and receive buffer are shared, so callers are serialised by a lock.
    /// </summary>
    internal sealed unsafe class SockDiagSocket : IDisposable
    {
        // The kernel sizes dump datagrams from the reader's buffer, up to 32 KiB (netlink_recvmsg caps the size it
        // remembers at SKB_WITH_OVERHEAD(32768)), so 64 KiB holds any of them and each is read with one recv. MSG_TRUNC
        // makes recv return a datagram's whole length: one longer than the buffer (a family's larger minimum, a kernel
        // that sizes them otherwise) was cut, so the buffer grows and the dump starts again (MaxAttempts). Peeking at
        // each datagram first instead would double the recv calls of a dump (130 more at 10,000 sockets) to guard
        // against what does not happen.
        private const int InitialBufferSize = 64 * 1024;
        private const int MaxAttempts = 4;

        private readonly object _lock = new object();
        private int _fd;
        private bool _disposed;
        private uint _sequence;
        private byte[] _buffer;

        /// <exception cref="NetlinkException">socket() failed (no netlink in this sandbox, seccomp, …).</exception>
        internal SockDiagSocket() : this(InitialBufferSize) { }

        /// <summary>Tests start with a tiny buffer to exercise the growth path.</summary>
        internal SockDiagSocket(int initialBufferSize)
        {
            _buffer = new byte[initialBufferSize];
            _fd = Open();
        }

        internal int BufferSize => _buffer.Length;

        private static int Open()
        {
            int fd = LinuxNative.socket(LinuxNative.AF_NETLINK, LinuxNative.SOCK_RAW | LinuxNative.SOCK_CLOEXEC, LinuxNative.NETLINK_SOCK_DIAG);
            if (fd < 0)
            {
                int errno = LinuxNative.LastErrno;
                throw new NetlinkException("Cannot open a netlink sock_diag socket: " + LinuxNative.ErrnoText(errno), errno);
            }
            return fd;
        }

        /// <summary>
        /// Dumps every socket of one family and protocol into rows (SOCK_DIAG_BY_FAMILY). <paramref name="extensions"/>
        /// is inet_diag_req_v2.idiag_ext (e.g. 1 &lt;&lt; (INET_DIAG_INFO - 1) for tcp_info); attributes the kernel
        /// attaches are handed to <paramref name="onAttribute"/>. <paramref name="states"/> is idiag_states (bit n: TCP state
        /// n, as <see cref="SockDiagParser.AllStates"/>).
        /// </summary>
        /// <exception cref="NetlinkException">The kernel refused the request, or a socket call failed.</exception>
        internal void Dump(byte family, byte protocol, byte extensions, List<SocketEntry> rows, SockDiagAttributeHandler onAttribute = null, uint states = SockDiagParser.AllStates) =>
            Run(combinedTcp: false, family, protocol, extensions, states, rows, onAttribute);

        /// <summary>
        /// Dumps every TCP socket of both address families into rows with one TCPDIAG_GETSOCK request, so the kernel
        /// walks its TCP hash tables once instead of once per family (a walk of an empty established table costs
        /// milliseconds on a machine with much memory: the table is sized from it). Rows and attributes as
        /// <see cref="Dump"/> gives them.
        /// </summary>
        /// <exception cref="NetlinkException">The kernel refused the request (a kernel without the compatibility path), or a socket call failed.</exception>
        internal void DumpTcp(byte extensions, List<SocketEntry> rows, SockDiagAttributeHandler onAttribute = null, uint states = SockDiagParser.AllStates) =>
            Run(combinedTcp: true, 0, LinuxSocketRow.IPPROTO_TCP, extensions, states, rows, onAttribute);

        private void Run(bool combinedTcp, byte family, byte protocol, byte extensions, uint states, List<SocketEntry> rows, SockDiagAttributeHandler onAttribute)
        {
            lock (_lock)
            {
                if (_disposed) throw new ObjectDisposedException(nameof(SockDiagSocket));
                int firstRow = rows.Count;
                for (int attempt = 1; ; attempt++)
                {
                    if (_fd < 0) _fd = Open();
                    uint seq = ++_sequence;
                    try
                    {
                        SendRequest(combinedTcp, seq, family, protocol, extensions, states);
                        bool tcp = protocol == LinuxSocketRow.IPPROTO_TCP;
                        while (true)
                        {
                            int n = ReceiveDatagram();
                            if (n < 0) break; // cut: the buffer has grown, start again
                            if (SockDiagParser.Parse(new ReadOnlySpan<byte>(_buffer, 0, n), tcp, seq, rows, onAttribute)) return;
                        }
                    }
                    catch
                    {
                        // A dump that failed half-way leaves the rest of it queued; drop the partial rows
                        // and the socket, so the next read starts clean on a fresh one.
                        rows.RemoveRange(firstRow, rows.Count - firstRow);
                        Reopen();
                        throw;
                    }
                    // The rest of the cut dump is still queued on this socket: drop it with the socket and the partial rows.
                    rows.RemoveRange(firstRow, rows.Count - firstRow);
                    Reopen();
                    Restarts++;
                    if (attempt == MaxAttempts)
                        throw new NetlinkException("The sock_diag answer came in datagrams longer than the receive buffer " + MaxAttempts + " times in a row (it grew to " + _buffer.Length + " bytes).", 0);
                }
            }
        }

        /// <summary>Dumps started again because a datagram did not fit the buffer; tests look at it.</summary>
        internal int Restarts { get; private set; }

        private void SendRequest(bool combinedTcp, uint seq, byte family, byte protocol, byte extensions, uint states)
        {
            const int room = SockDiagParser.TcpRequestLength > SockDiagParser.RequestLength ? SockDiagParser.TcpRequestLength : SockDiagParser.RequestLength;
            byte* request = stackalloc byte[room];
            var span = new Span<byte>(request, room);
            int len = combinedTcp
                ? SockDiagParser.WriteTcpDumpRequest(span, seq, extensions, states)
                : SockDiagParser.WriteDumpRequest(span, seq, family, protocol, extensions, states);
            while (true)
            {
                long sent = (long)LinuxNative.send(_fd, request, (UIntPtr)len, 0);
                if (sent == len) return;
                int errno = sent < 0 ? LinuxNative.LastErrno : 0;
                if (errno == LinuxNative.EINTR) continue;
                throw new NetlinkException("Sending the sock_diag request failed: " +
                    (sent < 0 ? LinuxNative.ErrnoText(errno) : "short write of " + sent + " bytes"), errno);
            }
        }

        /// <summary>
        /// Receives one datagram into _buffer and returns its length; -1 when it was longer than the buffer, which then
        /// has grown to hold it (the datagram itself is lost: the caller starts the dump again).
        /// </summary>
        private int ReceiveDatagram()
        {
            int n = Recv(LinuxNative.MSG_TRUNC);
            if (n == 0) throw new NetlinkException("The netlink socket closed before the dump ended.", 0);
            if (n <= _buffer.Length) return n;
            _buffer = new byte[Math.Max(n, _buffer.Length * 2)];
            return -1;
        }

        private int Recv(int flags)
        {
            while (true)
            {
                long n;
                fixed (byte* b = _buffer) n = (long)LinuxNative.recv(_fd, b, (UIntPtr)_buffer.Length, flags);
                if (n >= 0) return (int)n;
                int errno = LinuxNative.LastErrno;
                if (errno == LinuxNative.EINTR) continue;
                throw new NetlinkException("Receiving the sock_diag answer failed: " + LinuxNative.ErrnoText(errno), errno);
            }
        }

        private void Reopen()
        {
            if (_fd >= 0) LinuxNative.close(_fd);
            _fd = -1;
            try { _fd = Open(); }
            catch (NetlinkException) { } // the next Dump tries again and reports why it cannot
        }

        public void Dispose()
        {
            lock (_lock)
            {
                if (_fd >= 0) LinuxNative.close(_fd);
                _fd = -1;
                _disposed = true;
            }
        }
    }
}
