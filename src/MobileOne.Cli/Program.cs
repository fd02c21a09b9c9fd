using TorchSharp;
Console.WriteLine("stub");
