"""Name lists for the demo organisation (invented people; common given and family names)."""

FIRST_NAMES = """
Aaliyah Aarav Abigail Adam Adebayo Aditi Ahmed Aidan Aisha Alex Alice Amara Amelia Amir Amy
Andrew Anika Anna Arjun Aurora Ava Ben Bethany Bilal Bronwen Caleb Callum Carla Catherine
Charlotte Chloe Chen Chidi Chris Ciara Connor Daisy Daniel Darius David Deepa Eden Eilidh Elena
Eleanor Eliza Ellis Emeka Emily Emma Erin Ethan Eva Faisal Farah Fatima Finn Fiona Freya Gabriel
Gareth George Georgia Hamza Hannah Harry Harvey Hassan Hazel Imogen Isaac Isla Ivan Jack Jade
James Jasmine Jay Jessica Joanna Joe Jonah Joseph Joshua Julia Kai Karen Kate Kieran Laila Laura
Leah Leo Liam Lily Lucas Lucy Luke Maisie Malik Maria Marcus Maya Megan Mei Mia Michael Mohammed
Molly Nadia Naomi Nathan Niamh Nikhil Nina Noah Olivia Omar Oscar Owen Patrick Paul Petra Phoebe
Rachel Rahul Rebecca Reuben Rhys Riya Rosa Rory Ruby Ryan Saanvi Sam Samira Sanjay Sara Scarlett
Sean Sofia Sophie Stefan Sunita Tariq Theo Thomas Tobias Tom Uma Victoria Will Yasmin Yusuf Zara
Zoe
""".split()

LAST_NAMES = """
Abbott Adeyemi Ahmed Ali Allen Anderson Armstrong Bailey Baker Banerjee Barnes Bell Bennett Bishop
Brennan Brown Burke Campbell Carter Chapman Clarke Collins Cooper Cox Davies Dawson Dixon Doyle
Edwards Ellis Evans Fernandes Fisher Fleming Fletcher Foster Fraser Gallagher Garcia Gibson Graham
Grant Green Gupta Hall Hamilton Harris Hart Hayes Henderson Hill Holmes Hughes Hussain Iqbal
Jackson James Jenkins Johnson Jones Kaur Kelly Kennedy Khan King Knight Kowalski Lawson Lee Lewis
Lloyd Lynch MacDonald Malik Marshall Martin Mason Matthews McCarthy McKenzie Mehta Miller Mills
Mitchell Moore Morgan Morris Murphy Murray Nguyen Nowak O'Brien O'Connor Okafor Oliver Osei Owen
Palmer Parker Patel Pearson Phillips Price Quinn Rahman Reid Reynolds Richards Roberts Robinson
Rogers Rose Ross Russell Ryan Saunders Scott Shah Sharma Shaw Simpson Singh Smith Spencer Stewart
Sullivan Taylor Thomas Thompson Turner Walker Walsh Ward Watson Webb White Wilkinson Williams
Wilson Wood Wright Young Zhang
""".split()
