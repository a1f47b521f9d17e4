using System;
using System.Runtime.InteropServices;

namespace ConnectionsMonitor.Engine.Platform.Windows
{
    internal static partial class Interop
    {
        /// <summary>
        /// The documented ETW controller and consumer API (evntrace.h, evntcons.h), just what a real-time
        /// session of kernel network events needs. Structures are blittable and declared with IntPtr where
        /// Windows has pointers or handles, so sizeof() matches the native layout on x86, x64 and arm64.
        /// </summary>
        internal static class Etw
        {
            internal const uint WNODE_FLAG_TRACED_GUID = 0x00020000;
            internal const uint EVENT_TRACE_REAL_TIME_MODE = 0x00000100;
            // Windows 8+: a named session that receives SystemTraceProvider (kernel) events, so the module
            // need not take the machine's single "NT Kernel Logger" away from other tools.
            internal const uint EVENT_TRACE_SYSTEM_LOGGER_MODE = 0x02000000;
            internal const uint EVENT_TRACE_FLAG_NETWORK_TCPIP = 0x00010000;
            internal const uint EVENT_TRACE_CONTROL_STOP = 1;
            internal const uint PROCESS_TRACE_MODE_REAL_TIME = 0x00000100;
            internal const uint PROCESS_TRACE_MODE_EVENT_RECORD = 0x10000000;
            internal const uint QPC_CLOCK = 1;
            internal const ushort EVENT_HEADER_FLAG_32_BIT_HEADER = 0x0020;

            internal const int ERROR_ACCESS_DENIED = 5;
            internal const int ERROR_BAD_LENGTH = 24;
            internal const int ERROR_ALREADY_EXISTS = 183;
            internal const int ERROR_WMI_INSTANCE_NOT_FOUND = 4201;
            internal const int ERROR_MORE_DATA = 234;

            /// <summary>Maximum sessions QueryAllTraces can report.</summary>
            internal const int MaxLoggers = 64;

            [StructLayout(LayoutKind.Sequential)]
            internal struct WNODE_HEADER
            {
                internal uint BufferSize;
                internal uint ProviderId;
                internal ulong HistoricalContext;
                internal long TimeStamp;
                internal Guid Guid;
                internal uint ClientContext;
                internal uint Flags;
            }

            [StructLayout(LayoutKind.Sequential)]
            internal struct EVENT_TRACE_PROPERTIES
            {
                internal WNODE_HEADER Wnode;
                internal uint BufferSize;
                internal uint MinimumBuffers;
                internal uint MaximumBuffers;
                internal uint MaximumFileSize;
                internal uint LogFileMode;
                internal uint FlushTimer;
                internal uint EnableFlags;
                internal int AgeLimit;
                internal uint NumberOfBuffers;
                internal uint FreeBuffers;
                internal uint EventsLost;
                internal uint BuffersWritten;
                internal uint LogBuffersLost;
                internal uint RealTimeBuffersLost;
                internal IntPtr LoggerThreadId;
                internal uint LogFileNameOffset;
                internal uint LoggerNameOffset;
            }

            [StructLayout(LayoutKind.Sequential)]
            internal struct EVENT_TRACE_HEADER
            {
                internal ushort Size;
                internal ushort FieldTypeFlags;
                internal uint Version;
                internal uint ThreadId;
                internal uint ProcessId;
                internal long TimeStamp;
                internal Guid Guid;
                internal ulong ProcessorTime;
            }

            [StructLayout(LayoutKind.Sequential)]
            internal struct EVENT_TRACE
            {
                internal EVENT_TRACE_HEADER Header;
                internal uint InstanceId;
                internal uint ParentInstanceId;
                internal Guid ParentGuid;
                internal IntPtr MofData;
                internal uint MofLength;
                internal uint ClientContext;
            }

            [StructLayout(LayoutKind.Sequential)]
            internal unsafe struct SYSTEMTIME
            {
                internal fixed ushort Fields[8];
            }

            [StructLayout(LayoutKind.Sequential)]
            internal unsafe struct TIME_ZONE_INFORMATION
            {
                internal int Bias;
                internal fixed char StandardName[32];
                internal SYSTEMTIME StandardDate;
                internal int StandardBias;
                internal fixed char DaylightName[32];
                internal SYSTEMTIME DaylightDate;
                internal int DaylightBias;
            }

            [StructLayout(LayoutKind.Sequential)]
            internal struct TRACE_LOGFILE_HEADER
            {
                internal uint BufferSize;
                internal uint Version;
                internal uint ProviderVersion;
                internal uint NumberOfProcessors;
                internal long EndTime;
                internal uint TimerResolution;
                internal uint MaximumFileSize;
                internal uint LogFileMode;
                internal uint BuffersWritten;
                internal Guid LogInstanceGuid;
                internal IntPtr LoggerName;
                internal IntPtr LogFileName;
                internal TIME_ZONE_INFORMATION TimeZone;
                internal long BootTime;
                internal long PerfFreq;
                internal long StartTime;
                internal uint ReservedFlags;
                internal uint BuffersLost;
            }

            [StructLayout(LayoutKind.Sequential)]
            internal struct EVENT_TRACE_LOGFILEW
            {
                internal IntPtr LogFileName;
                internal IntPtr LoggerName;
                internal long CurrentTime;
                internal uint BuffersRead;
                internal uint ProcessTraceMode;
                internal EVENT_TRACE CurrentEvent;
                internal TRACE_LOGFILE_HEADER LogfileHeader;
                internal IntPtr BufferCallback;
                internal uint BufferSize;
                internal uint Filled;
                internal uint EventsLost;
                internal IntPtr EventRecordCallback;
                internal uint IsKernelTrace;
                internal IntPtr Context;
            }

            [StructLayout(LayoutKind.Sequential)]
            internal struct EVENT_DESCRIPTOR
            {
                internal ushort Id;
                internal byte Version;
                internal byte Channel;
                internal byte Level;
                internal byte Opcode;
                internal ushort Task;
                internal ulong Keyword;
            }

            [StructLayout(LayoutKind.Sequential)]
            internal struct EVENT_HEADER
            {
                internal ushort Size;
                internal ushort HeaderType;
                internal ushort Flags;
                internal ushort EventProperty;
                internal uint ThreadId;
                internal uint ProcessId;
                internal long TimeStamp;
                internal Guid ProviderId;
                internal EVENT_DESCRIPTOR EventDescriptor;
                internal ulong ProcessorTime;
                internal Guid ActivityId;
            }

            [StructLayout(LayoutKind.Sequential)]
            internal struct EVENT_RECORD
            {
                internal EVENT_HEADER EventHeader;
                internal uint BufferContext;
                internal ushort ExtendedDataCount;
                internal ushort UserDataLength;
                internal IntPtr ExtendedData;
                internal IntPtr UserData;
                internal IntPtr UserContext;
            }

            [UnmanagedFunctionPointer(CallingConvention.Winapi)]
            internal unsafe delegate void EventRecordCallback(EVENT_RECORD* record);

            [DllImport("advapi32.dll", ExactSpelling = true, CharSet = CharSet.Unicode)]
            internal static extern unsafe int StartTraceW(out ulong sessionHandle, string sessionName, EVENT_TRACE_PROPERTIES* properties);

            [DllImport("advapi32.dll", ExactSpelling = true, CharSet = CharSet.Unicode)]
            internal static extern unsafe int ControlTraceW(ulong sessionHandle, string sessionName, EVENT_TRACE_PROPERTIES* properties, uint controlCode);

            [DllImport("advapi32.dll", ExactSpelling = true)]
            internal static extern unsafe int QueryAllTracesW(IntPtr* propertyArray, uint propertyArrayCount, out uint loggerCount);

            [DllImport("advapi32.dll", ExactSpelling = true, SetLastError = true)]
            internal static extern unsafe ulong OpenTraceW(EVENT_TRACE_LOGFILEW* logfile);

            [DllImport("advapi32.dll", ExactSpelling = true)]
            internal static extern unsafe int ProcessTrace(ulong* handleArray, uint handleCount, IntPtr startTime, IntPtr endTime);

            [DllImport("advapi32.dll", ExactSpelling = true)]
            internal static extern int CloseTrace(ulong traceHandle);

            /// <summary>
            /// OpenTrace's failure value: INVALID_PROCESSTRACE_HANDLE. A 32-bit process sees it zero-extended
            /// (0x00000000FFFFFFFF), a 64-bit one sign-extended; both are checked.
            /// </summary>
            internal static bool IsInvalidProcessTraceHandle(ulong handle) =>
                handle == ulong.MaxValue || handle == uint.MaxValue;
        }
    }
}
