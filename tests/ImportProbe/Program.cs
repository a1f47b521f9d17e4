using System;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.Loader;
using YamlDotNet.RepresentationModel;

// Usage: ImportProbe <module .psd1> <config.yml>
// Prints key=value lines the test asserts on; exit code 0 when everything worked.
internal static class Program
{
    private static int Main(string[] args)
    {
        // Use the host's own YamlDotNet first, so it is loaded into the default context.
        var stream = new YamlStream();
        stream.Load(new System.IO.StringReader("host: yaml"));
        var hostYaml = typeof(YamlStream).Assembly;
        Console.WriteLine("hostYamlVersion=" + hostYaml.GetName().Version);

        var iss = InitialSessionState.CreateDefault2();
        using var runspace = RunspaceFactory.CreateRunspace(iss);
        runspace.Open();
        using var ps = PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript("Import-Module $args[0] -ErrorAction Stop; Get-MonitoredConnection -ConfigPath $args[1]")
          .AddArgument(args[0]).AddArgument(args[1]);
        var results = ps.Invoke();
        foreach (var e in ps.Streams.Error) Console.WriteLine("error=" + e);
        Console.WriteLine("connections=" + results.Count);
        Console.WriteLine("firstType=" + (results.FirstOrDefault()?.BaseObject.GetType().FullName ?? ""));

        // Where did each YamlDotNet and the engine land?
        foreach (var alc in AssemblyLoadContext.All)
        {
            foreach (var a in alc.Assemblies.Where(a => a.GetName().Name is "YamlDotNet" or "ConnectionsMonitor.Engine"))
                Console.WriteLine("loaded=" + a.GetName().Name + "|" + a.GetName().Version + "|" + alc.Name);
        }

        // The host's YamlDotNet still works after the import.
        stream.Load(new System.IO.StringReader("still: works"));
        Console.WriteLine("hostYamlStillWorks=" + (((YamlMappingNode)stream.Documents[0].RootNode).Children.Count == 1));
        return ps.HadErrors ? 1 : 0;
    }
}
